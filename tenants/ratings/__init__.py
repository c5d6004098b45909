"""The company side of the red/black list (saas/ratings): the owner's quarterly rating form, and the company
admin's page of reviews with its public replies and appeals. Here and not in saas/ratings because deciding who may
rate reads the company's own rows (household owner links, memberships) in its context; the rating itself is
written to the platform tables through saas.ratings.services. Not in tenants/portal, which another module owns;
the owner reaches the form from the company's public profile and from /c/<slug>/ratings/rate."""

from flask import Blueprint

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
