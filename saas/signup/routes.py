from flask import Blueprint

bp = Blueprint("signup", __name__)
