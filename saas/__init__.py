"""Guanjia (管家): the application factory."""

from __future__ import annotations

import functools
import logging
import os

from babel import Locale
from flask import Flask, g, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user

from saas import extensions as ext  # not `from ... import htmx`: the submodule saas.htmx shadows that name
from saas.config import DEFAULT_SECRET_KEY, PROJECT_ROOT, load_config
from saas.extensions import babel, csrf, db, limiter, login_manager, migrate


class InsecureConfiguration(RuntimeError):
    pass


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("GUANJIA_INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(load_config(app.instance_path, overrides))
    _refuse_insecure_production(app)
    if app.config["PROXY_FIX_HOPS"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=logging.INFO if not app.config.get("TESTING") else logging.WARNING)

    from saas import static_files

    static_files.register(app)  # first: its compression hook must run after every other after_request hook
    _init_extensions(app)
    _register_blueprints(app)

    from saas import errors, kept_urls, security, templating
    from saas.cli import register_cli
    from tenants.cli import register_cli as register_company_cli

    errors.register(app)
    security.register(app)
    templating.register(app)
    register_cli(app)
    register_company_cli(app)
    kept_urls.install(app)  # last: every blueprint and url_defaults hook is known by now
    return app


def app_for_serving(overrides: dict | None = None) -> Flask:
    """The app as a server process runs it (wsgi.py; the pages benchmark): made, then what start-up made (modules,
    the URL map, SQLAlchemy's mappers and the rest: some 400,000 objects, all kept for the process's life) moved out
    of the garbage collector's reach with ``gc.freeze()``. Otherwise each full collection, which Python runs once
    the objects that outlived a request's collections add up to a quarter of the old ones, walks all of them again
    in the middle of some request. Not in ``create_app``: the tests make many apps, which must stay collectable."""
    import gc

    app = create_app(overrides)
    gc.collect()  # start-up's garbage goes first, so none of it is frozen
    gc.freeze()
    return app


def _refuse_insecure_production(app: Flask) -> None:
    if app.config.get("DEBUG") or app.config.get("TESTING"):
        return
    key = app.config.get("SECRET_KEY") or ""
    if key == DEFAULT_SECRET_KEY or len(key) < 32:
        raise InsecureConfiguration(
            "Refusing to start in production with the default or a short SECRET_KEY. "
            "Set SECRET_KEY to at least 32 random characters (or GUANJIA_ENV=development for local work)."
        )


def _select_locale() -> Locale:
    from flask import current_app

    lang = session.get("lang") if request else None
    code = lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
    return _parsed_locale(code)


@functools.cache
def _parsed_locale(code: str) -> Locale:
    # Flask-Babel parses what the selector returns on every request unless it is a Locale already, and parsing
    # lists Babel's locale data directory each time (about 0.2 ms).
    return Locale.parse(code)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        _sqlite_foreign_keys(db.engine)
        if db.engine.dialect.name != "sqlite":  # a file on this machine: nothing to lose the connection to
            from saas import connection_checks

            connection_checks.install(db.engine, app.config["DB_IDLE_PING_SECONDS"])
        from saas import read_transactions

        read_transactions.install(app, db.engine)
    # Import every model module so metadata (and `flask db`) sees all tables.
    import saas.models  # noqa: F401
    import saas.notifications.models  # noqa: F401
    import saas.public_cache  # noqa: F401
    import saas.ratings.models  # noqa: F401
    import saas.staff_version  # noqa: F401
    import tenants.exports.models  # noqa: F401
    import tenants.imports.models  # noqa: F401
    import tenants.inbox.models  # noqa: F401
    import tenants.members.models  # noqa: F401
    import tenants.roster.models  # noqa: F401
    import tenants.stewards.models  # noqa: F401
    import tenants.work_orders.models  # noqa: F401

    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    ext.htmx.init_app(app)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself says what to do
    # "basic", not "strong": phones switch between Wi-Fi and mobile data, and "strong" would sign them out.
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def sign_in_first():
        # Flask-Login's own answer is a bare redirect, which htmx would follow into the fragment it was loading.
        from saas.htmx import page_path, redirect_to

        return redirect_to(url_for("auth.login", next=page_path()), code=302)

    @login_manager.user_loader
    def load_user(session_id: str):
        # "<user id>.<session generation>" from the session or the remember cookie (User.get_id): a stale
        # generation (signed out, password changed) or a malformed value is no user, never a 500.
        from saas.auth.services import user_for_session

        return user_for_session(session_id)

    @app.context_processor
    def inject_globals():
        return {
            "current_company": g.get("company"),
            "current_membership": g.get("membership"),
            # Babel parses zh_CN as zh_Hans_CN; the catalog lives under translations/zh so gettext finds it.
            "current_locale": "zh_CN" if get_locale().language == "zh" else "en",
            "languages": app.config["LANGUAGES"],
            "current_user": current_user,
        }


def _sqlite_foreign_keys(engine) -> None:
    """SQLite ignores foreign keys unless asked; the composite keys are part of company isolation."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    import importlib

    import tenants
    from tenants.work_orders import intake  # the QR report form: no login, not under /c/<company_slug>/

    for module in ("public", "auth", "admin", "signup", "subscriptions", "ratings"):
        app.register_blueprint(importlib.import_module(f"saas.{module}.routes").bp)
    app.register_blueprint(intake.bp)
    # Joining a company (a staff invitation, an owner's household code) writes company data, so it lives in
    # the members module, though its URLs (/invite/<token>, /join/<slug>) are outside /c/<slug>/.
    app.register_blueprint(importlib.import_module("tenants.members.joining").bp)
    app.register_blueprint(importlib.import_module("tenants.fees.callbacks").notify_bp)  # WeChat Pay's callbacks
    tenants.register(app)
