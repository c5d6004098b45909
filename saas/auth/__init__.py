"""Sign in and out, sessions, the password change, choosing a company (views in routes.py)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
