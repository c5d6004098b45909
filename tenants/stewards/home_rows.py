"""The steward home's list of households, drawn in Python: 50 homes through Jinja (a loop, filters and a
``Markup`` %-format or two per home) were the page's largest cost after its statements. Everything a person entered
(owner names, rooms, phones) and every translated label is escaped; amounts are format_yuan's digits and ¥."""

from __future__ import annotations

from markupsafe import Markup, escape

from saas.money import format_yuan
from saas.templating import ROW_ID  # the id's place in the links built once per page

OVERDUE_CONTACT_DAYS = 90  # a home not contacted for longer is flagged


def home_rows(rows, *, today, owed: dict, home_url: str, ledger_url: str, labels: dict) -> Markup:
    """One building's homes as list items: the room and owner with the last contact (flagged past 90 days, or
    never), what the home owes past due (a link to its ledger), and a call button. ``rows``: (HomeRow, last
    contact date or None); ``labels``: unknown, never, over_90, past_due, call, and last / call_name, %-formats
    with ``%(date)s`` / ``%(name)s``."""
    unknown, never = escape(labels["unknown"]), escape(labels["never"])
    over_90 = f' <span class="badge text-bg-warning">{escape(labels["over_90"])}</span>'
    past_due, call = escape(labels["past_due"]), escape(labels["call"])
    # The two %-formats escaped once (a label may be Markup already), their values escaped and put in per home.
    last_label, call_name = str(escape(labels["last"])), str(escape(labels["call_name"]))
    out = []
    for home, last in rows:
        home_id = str(home.id)
        if last:
            contact = f'<span class="text-nowrap">{last_label.replace("%(date)s", str(last))}</span>'
            if (today - last).days > OVERDUE_CONTACT_DAYS:
                contact += over_90
        else:
            contact = f'<span class="text-warning-emphasis">{never}</span>'
        owes = owed.get(home.id)
        debt = (f'<a class="badge text-bg-warning text-decoration-none flex-shrink-0" '
                f'href="{escape(ledger_url.replace(ROW_ID, home_id))}" title="{past_due}">{format_yuan(owes)}</a>'
                if owes else "")
        phone = (f'<a class="btn btn-outline-success btn-sm text-nowrap flex-shrink-0" '
                 f'href="tel:{escape(home.owner_phone)}" '
                 f'aria-label="{call_name.replace("%(name)s", escape(home.owner_name or home.room_label))}">'
                 f'{call}</a>'
                 if home.owner_phone else "")
        out.append(
            '<li class="list-group-item d-flex justify-content-between align-items-center gap-2">'
            f'<a class="flex-grow-1 text-decoration-none" href="{escape(home_url.replace(ROW_ID, home_id))}">'
            f'<span class="fw-semibold">{escape(home.room_label)}</span>'
            f'<span class="d-block small text-body-secondary">{escape(home.owner_name) if home.owner_name else unknown}'
            f' · {contact}</span></a>{debt}{phone}</li>\n')
    return Markup("".join(out))
