"""Roster imports from a spreadsheet (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("imports", __name__)
