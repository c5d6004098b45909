"""Company members: staff and owners, invitations, and joining a company.

Two blueprints, both defined here (views in the modules named):
- ``bp`` (routes.py), mounted under /c/<slug>/: the admin's member list, invitations, roles.
- ``joining_bp`` (joining.py), registered by the app factory at the root: accepting a staff invitation
  (/invite/<token>) and an owner joining with a household code (/join/<slug>). The visitor is not a member
  yet, so these URLs carry no /c/<slug>/; the endpoints keep their name ``owners.*``.
"""

from flask import Blueprint

bp = Blueprint("members", __name__)
joining_bp = Blueprint("owners", __name__)
