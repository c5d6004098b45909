"""Putting a service's refusal next to the form field it concerns."""

from __future__ import annotations


def show_error(form, exc) -> None:
    """``exc`` carries ``message`` and optionally ``field`` (every service error here does): the message goes
    under that field, or above the form when it names none."""
    field = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))
