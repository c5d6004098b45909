"""Starting and ending a browser's session: the one place that clears Flask's session, so what must survive a
sign-in or a sign-out (the language the person chose) is kept in one place too."""

from __future__ import annotations

from flask import session
from flask_login import login_user, logout_user

KEPT = ("lang",)  # chosen before signing in (the login page's language switch), still wanted afterwards


def _kept() -> dict:
    return {key: session[key] for key in KEPT if key in session}


def start_session(user, *, remember: bool = False) -> None:
    """A fresh session for a sign-in (no fixation, nothing left of whoever used this browser before)."""
    kept = _kept()
    session.clear()
    session.update(kept)
    login_user(user, remember=remember)


def end_session() -> None:
    kept = _kept()
    session.clear()
    # After the clear, not before: logout_user() leaves session["_remember"] = "clear", which makes Flask-Login
    # delete the remember cookie on this response (clearing afterwards wiped it, and the cookie lived on).
    logout_user()
    session.update(kept)
