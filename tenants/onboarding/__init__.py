"""The first-steps checklist and the company profile (the blueprint; views in routes.py)."""

from flask import Blueprint

bp = Blueprint("onboarding", __name__)
