"""Pages without login: the front door (landing, pricing) and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from saas.extensions import db
from saas.htmx import render
from saas.money import yuan_text
from saas.subscriptions.plans import PLANS, TRIAL_MAX_HOUSEHOLDS

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The landing page for visitors; a signed-in user goes straight to their companies."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    return render("saas/public/index.html", **_pricing_context())


@bp.get("/pricing")
def pricing():
    return render("saas/public/pricing.html", **_pricing_context())


def _pricing_context() -> dict:
    return {"plans": PLANS, "trial_days": current_app.config.get("TRIAL_DAYS", 30),
            "trial_max_households": TRIAL_MAX_HOUSEHOLDS, "yuan": yuan_text}



def _check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return {"status": "ok", "backend": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        db.session.rollback()
        return {"status": "error", "backend": db.engine.dialect.name, "error": type(exc).__name__}


def _check_queue() -> dict:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"status": "ok", "mode": "inline"}
    try:
        from saas.jobs import redis_connection

        redis_connection().ping()
        return {"status": "ok", "mode": "rq"}
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "mode": "rq", "error": type(exc).__name__}


@bp.get("/healthz")
def healthz():
    checks = {"database": _check_database(), "queue": _check_queue()}
    ok = all(c["status"] == "ok" for c in checks.values())
    response = jsonify({"status": "ok" if ok else "error", **checks})
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
