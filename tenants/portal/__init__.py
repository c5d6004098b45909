"""The owner portal (/c/<slug>/my): an owner's own households and whom to ask. Views in routes.py; who may see
which household in permissions.py."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
