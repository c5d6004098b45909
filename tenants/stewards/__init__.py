"""Stewards (物业管家): the blueprint; admin pages in routes.py, the steward's own pages in home.py."""

from flask import Blueprint

bp = Blueprint("stewards", __name__)
