"""Exports of a company's data (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("exports", __name__)
