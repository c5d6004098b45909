"""Plans and payments of the companies (they pay the platform): plans.py, services.py, Stripe's webhook
endpoint in routes.py."""

from flask import Blueprint

bp = Blueprint("subscriptions", __name__)
