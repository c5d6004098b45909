"""The company's audit log (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("audit", __name__)
