"""The one sequence every POST view with a form follows: validate → call the service → on a refusal show its
message at its field (the view re-renders with 422) → on success flash and redirect (``HX-Redirect`` for htmx).

    form = CommunityForm()
    return submit(form, lambda: services.create_community(name=form.name.data, actor=current_user),
                  success=lambda community: _("Community %(name)s added.", name=community.name),
                  next_url=lambda community: url_for(".community", community_id=community.id)) \\
        or render("tenants/roster/communities.html", "add_form", status=422, form=form, ...)

``attempt`` is the same for a button without a form (delete, cancel, mark as read): a refusal is flashed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash

from saas.errors import ServiceError
from saas.htmx import redirect_to

Text = Callable[[Any], Any] | Any


def show_error(form, exc) -> None:
    """``exc`` carries ``message`` and optionally ``field`` (every ServiceError does): the message goes under that
    field, or above the form when it names none (or a field the form does not have)."""
    field = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


def _value(text: Text, result):
    return text(result) if callable(text) else text


def submit(form, action: Callable[[], Any], *, next_url: Text, success: Text = None):
    """Validate ``form`` and run ``action``; returns the redirect to ``next_url`` (after flashing ``success``),
    or None when the form must be shown again: invalid input, or the service refused (its message is now on the
    form). ``next_url`` and ``success`` are values or callables of what ``action`` returned."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except ServiceError as exc:
        show_error(form, exc)
        return None
    message = _value(success, result)
    if message:
        flash(str(message), "success")
    return redirect_to(_value(next_url, result))


def attempt(action: Callable[[], Any], *, next_url: Text, success: Text = None, failure_url: str | None = None):
    """Run ``action`` (a button: delete, cancel, accept); flash ``success`` or the service's refusal, then redirect
    to ``next_url`` (or to ``failure_url`` when refused, e.g. back to the page of what could not be deleted)."""
    try:
        result = action()
    except ServiceError as exc:
        flash(str(exc.message), "danger")
        return redirect_to(failure_url or _value(next_url, None))
    message = _value(success, result)
    if message:
        flash(str(message), "success")
    return redirect_to(_value(next_url, result))
