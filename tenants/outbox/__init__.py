"""The notifications outbox: every message the company's users were sent (views in routes.py)."""

from flask import Blueprint

bp = Blueprint("outbox", __name__)
