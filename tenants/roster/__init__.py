"""The household roster: communities, buildings, households (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("roster", __name__)
