"""Self-serve signup: a company on a free trial with its admin account (views in routes.py)."""

from flask import Blueprint

bp = Blueprint("signup", __name__)
