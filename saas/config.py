"""Configuration read from the environment.

The embedded default (no variables set) is SQLite under instance/, jobs inline, rate limits in memory,
messages to the outbox. Setting DATABASE_URL / REDIS_URL switches to the real services.
"""

import os
from datetime import timedelta
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for every PostgreSQL URL, whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ.get("GUANJIA_ENV", "production")
    debug = env == "development" or _bool("FLASK_DEBUG")
    sqlite_default = f"sqlite:///{Path(instance_path) / 'guanjia.sqlite3'}"
    database_url = normalise_db_url(os.environ.get("DATABASE_URL", sqlite_default))
    config = {
        "ENV_NAME": env,
        "DEBUG": debug,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Migrations run as the table owner; the app itself connects as a role that RLS applies to.
        "MIGRATION_DATABASE_URL": normalise_db_url(os.environ.get("MIGRATION_DATABASE_URL", database_url)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "20 per minute"),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT": timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not debug,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not debug,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "PAGE_SIZE": 20,
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "JOB_QUEUE_NAME": "default",
    }
    if overrides:
        config.update(overrides)
    return config
