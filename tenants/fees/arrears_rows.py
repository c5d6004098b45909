"""The arrears page's table rows, drawn in Python: a page of 50 homes and a community's 35 buildings through Jinja
(a loop, filters and a macro call per row) was half of the page's time; joined here they cost a fifth of that.
Everything a person entered (names, rooms) and every translated label is escaped; amounts are format_yuan's digits
and ¥, ids are UUIDs, neither needs it (escaped anyway where it costs nothing)."""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

from saas.money import format_yuan

ROW_ID = "ROW-ID"  # the id's place in the links built once per page


def age_cells(totals, labels=None) -> Markup:
    """The age columns of a Totals as table cells. Stacked on a phone, an empty age is left out of the card
    (stack-skip), so a home owing in one age takes three lines, not seven. ``labels``: the four ages' names,
    translated once per page; without them, the cells of a compact table that shows its ages from md up only."""
    return Markup(_age_cells(totals, _age_openings(labels)))


def _age_openings(labels) -> tuple:
    """Per age, the opening tag of its cell with a value and without one (labels escaped once for all rows)."""
    if labels is None:
        return (('<td class="text-end d-none d-md-table-cell">',) * 2,) * 4
    return tuple((f'<td class="text-end" data-label="{escape(label)}">',
                  f'<td class="text-end stack-skip" data-label="{escape(label)}">') for label in labels)


def _age_cells(totals, openings) -> str:
    return "".join(f"{opening[0]}{format_yuan(value)}</td>" if value else f"{opening[1]}—</td>"
                   for value, opening in zip((totals.d30, totals.d90, totals.d365, totals.older), openings,
                                             strict=True))


def group_rows(groups, *, group_url: str, months: int) -> Markup:
    """The compact table of communities (or of a community's buildings): name with its link and flag, homes
    owing, amount, and the ages from md up."""
    compact = _age_openings(None)
    out = []
    for group in groups:
        totals = group.totals
        flag = (f' <span class="badge text-bg-warning">'
                f'{escape(_("%(n)s over %(m)s months", n=totals.flagged, m=months))}</span>' if totals.flagged else "")
        out.append(
            f'<tr><td class="fw-semibold"><a href="{escape(group_url.replace(ROW_ID, str(group.id)))}">'
            f'{escape(group.name)}</a>{flag}</td>'
            f'<td class="text-end">{totals.households:,}</td>'
            f'<td class="text-end fw-semibold">{format_yuan(totals.total)}</td>{_age_cells(totals, compact)}</tr>\n')
    return Markup("".join(out))


def home_rows(rows, *, with_community: bool, ledger_url: str, demand_url: str, labels: dict,
              age_labels: tuple) -> Markup:
    """The homes owing, one row each (a card of labelled lines on a phone: table-stack): the home with its ledger
    link (its community too when every community is shown), the owner, the amount and its ages, the oldest due
    date with the limitation flag, and the written demand. ``labels``: home, owner, owed, oldest, flag, demand."""
    home, owner, owed = escape(labels["home"]), escape(labels["owner"]), escape(labels["owed"])
    oldest, demand = escape(labels["oldest"]), escape(labels["demand"])
    flag = f' <span class="badge text-bg-warning">{escape(labels["flag"])}</span>'
    ages = _age_openings(age_labels)
    out = []
    for row in rows:
        row_id = str(row.id)
        place = f"{escape(row.community)} {escape(row.room_label)}" if with_community else escape(row.room_label)
        out.append(
            f'<tr><td data-label="{home}" class="fw-semibold">'
            f'<a href="{escape(ledger_url.replace(ROW_ID, row_id))}">{place}</a></td>'
            f'<td data-label="{owner}">{escape(row.owner_name or "—")}</td>'
            f'<td class="text-end fw-semibold" data-label="{owed}">{format_yuan(row.totals.total)}</td>'
            f'{_age_cells(row.totals, ages)}'
            f'<td data-label="{oldest}"><span>{row.oldest_due}{flag if row.flagged else ""}</span></td>'
            f'<td><a class="btn btn-sm btn-outline-secondary" href="{escape(demand_url.replace(ROW_ID, row_id))}">'
            f'{demand}</a></td></tr>\n')
    return Markup("".join(out))
