"""The platform red/black list (红黑榜): verified owners' quarterly ratings, service figures, a published formula,
moderation and appeals. Platform tables only (models.py); the public pages (routes.py, /ratings/) answer from the
precomputed tables the per-company job writes (job.py).

Like every module under saas/, this one never imports a company module: the company side fills in hooks —
service figures through ``figures.register_figure_source`` (tenants/work_orders/rating_figures.py), the owner's
rating form and the company's replies and appeals in tenants/ratings/, which call the services here with what
they read in the company's own context."""

from flask import Blueprint

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
