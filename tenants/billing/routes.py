from flask import Blueprint

bp = Blueprint("billing", __name__)
