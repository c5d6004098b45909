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
        # No pool_pre_ping: saas/connection_checks.py pings only connections that sat idle (one round trip less
        # per request); DB_IDLE_PING_SECONDS=0 pings on every checkout.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "DB_IDLE_PING_SECONDS": float(os.environ.get("DB_IDLE_PING_SECONDS", "10")),
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
        # A repair report carries up to 6 phone photos (each ≤ 8 MB, checked one by one); imports check their own
        # smaller limit. Werkzeug spools large uploads to disk, not memory.
        "MAX_CONTENT_LENGTH": 40 * 1024 * 1024,
        "JOB_QUEUE_NAME": "default",
        # Number of trusted reverse proxies in front of the app (0: none). Rate limits and audit IPs then use the
        # client address the proxy reports; never set it higher than the real number of proxies.
        "PROXY_FIX_HOPS": int(os.environ.get("PROXY_FIX_HOPS", "0")),
        "TRIAL_DAYS": int(os.environ.get("TRIAL_DAYS", "30")),
        # Roster import limits, checked before parsing (size) and while streaming (rows, unzipped size).
        "IMPORT_MAX_BYTES": int(os.environ.get("IMPORT_MAX_BYTES", str(5 * 1024 * 1024))),
        "IMPORT_MAX_ROWS": int(os.environ.get("IMPORT_MAX_ROWS", "50000")),
        "IMPORT_MAX_UNZIPPED_BYTES": int(os.environ.get("IMPORT_MAX_UNZIPPED_BYTES", str(200 * 1024 * 1024))),
        # QR intake (扫码报修, tenants/work_orders/intake_guard.py): abuse limits of the no-login report form. Phone
        # and identical count reports made; ip (per company) and point count attempts. A form ticket must be
        # min..max seconds old.
        "INTAKE_LIMITS": {"phone": "10 per day", "identical": "2 per day", "ip": "20 per day",
                          "point": "30 per hour", "min_seconds": 3, "max_seconds": 2 * 3600},
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", str(Path(instance_path) / "uploads")),
        # Public base URL for links in messages, QR codes and printed notices.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS"),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "noreply@guanjia.local"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        # STRIPE_PRICE_BASIC / _STANDARD / _PROFESSIONAL: Stripe price ids of the monthly plans.
        "STRIPE_PRICES": {code: os.environ.get(f"STRIPE_PRICE_{code.upper()}", "")
                          for code in ("basic", "standard", "professional")},
        # Tests point the Stripe client at a local fake server; unset in production.
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        # WeChat Pay for owners' fees, as the platform's service-provider (服务商) account; each company is a
        # sub-merchant (companies.wechat_sub_mchid). Unset: owners see the offline instructions only.
        "WECHATPAY_SP_MCHID": os.environ.get("WECHATPAY_SP_MCHID", ""),
        "WECHATPAY_SP_APPID": os.environ.get("WECHATPAY_SP_APPID", ""),
        "WECHATPAY_PRIVATE_KEY": os.environ.get("WECHATPAY_PRIVATE_KEY", ""),  # path of the API key (PEM)
        "WECHATPAY_CERT_SERIAL_NO": os.environ.get("WECHATPAY_CERT_SERIAL_NO", ""),
        "WECHATPAY_APIV3_KEY": os.environ.get("WECHATPAY_APIV3_KEY", ""),
        # WeChat's platform certificates (a directory, filled on first use) or its public key (path) and key id.
        "WECHATPAY_PLATFORM_CERT_DIR": os.environ.get("WECHATPAY_PLATFORM_CERT_DIR", ""),
        "WECHATPAY_PUBLIC_KEY": os.environ.get("WECHATPAY_PUBLIC_KEY", ""),
        "WECHATPAY_PUBLIC_KEY_ID": os.environ.get("WECHATPAY_PUBLIC_KEY_ID", ""),
        # The public https base WeChat calls back (…/wechatpay/notify is appended).
        "WECHATPAY_NOTIFY_URL": os.environ.get("WECHATPAY_NOTIFY_URL", ""),
        "WECHATPAY_ORDER_MINUTES": int(os.environ.get("WECHATPAY_ORDER_MINUTES", "15")),
        "WECHATPAY_RECONCILE_MINUTES": int(os.environ.get("WECHATPAY_RECONCILE_MINUTES", "10")),
        # Tests point the WeChat Pay client at a local fake server; unset in production.
        "WECHATPAY_API_BASE": os.environ.get("WECHATPAY_API_BASE", ""),
    }
    if overrides:
        config.update(overrides)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite (the embedded default) has one writer at a time: wait up to 30 s for the lock instead of the
        # default 5 s, which concurrent reports (QR intake under load) can exceed.
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return config
