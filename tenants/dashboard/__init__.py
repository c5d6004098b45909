"""The company's overview page (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
