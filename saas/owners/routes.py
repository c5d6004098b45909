from flask import Blueprint

bp = Blueprint("owners", __name__)
