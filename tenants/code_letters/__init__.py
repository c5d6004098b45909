"""Household-code letters: the printable page per household with its code and QR code, lobby
posters, and regenerating codes (the blueprint; views in routes.py). Not the in-app inbox, not announcements."""

from flask import Blueprint

bp = Blueprint("code_letters", __name__)
