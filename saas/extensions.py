"""Extension singletons, bound to the app in create_app()."""

from flask import request
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from saas.i18n import Babel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()  # saas.i18n.Babel: translations found once per request
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def client_ip() -> str:
    return request.remote_addr or "-"


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (LATERAL, triggers and row-level security there; SQLite, the
    embedded default, takes the portable path)."""
    return db.session.get_bind().dialect.name == "postgresql"
