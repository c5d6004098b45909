"""The public disclosure pages, /p/<company_slug>/disclosures/…: no login, no session written, no personal data.

Cached in the process (saas/public_cache.py) under the company's public version token, which every write to what
these pages show moves (the tables registered below, and the company's own row): the token is read with the company
by the resolver, so a cached page costs that one statement. The key also carries the language and the day (the
"overdue" marks move with the calendar). ETag, ``Cache-Control: public, no-cache`` and a 304 for a matching
If-None-Match come with it."""

from __future__ import annotations

import hashlib

import segno
from flask import Blueprint, abort, current_app, make_response, url_for
from sqlalchemy import inspect
from sqlalchemy.orm.util import identity_key

from saas import public_cache
from saas.clock import local_today
from saas.extensions import db
from saas.htmx import render
from saas.tenancy import parse_uuid_or_404
from tenants.access import current_company
from tenants.disclosures import queries
from tenants.disclosures.models import (
    Attachment,
    DisclosureProfile,
    Kind,
    Objection,
    Publication,
    PublicationLine,
    Status,
)
from tenants.roster.models import Community

public_bp = Blueprint("disclosures", __name__, url_prefix="/disclosures")


def _public_publication(session, pub: Publication) -> bool:
    """A publication's change shows publicly unless it is, and was, a draft (publishing moves it off DRAFT)."""
    was = inspect(pub).attrs.status.history.deleted
    return pub.status != Status.DRAFT or any(s != Status.DRAFT for s in was)


def _on_public_publication(session, row) -> bool:
    """A line's or file's change shows publicly unless its publication is a draft: known only when the publication
    is in the session (it is, in the services that edit drafts); otherwise assumed public."""
    pub = session.identity_map.get(identity_key(Publication, (row.company_id, row.publication_id)))
    return pub is None or pub.status != Status.DRAFT or _public_publication(session, pub)


# Everything the pages below are drawn from, besides the company's row (always watched). A draft is never shown, so
# drafting does not make the pages be drawn again.
public_cache.watch_company_tables(Community, DisclosureProfile, Objection)
public_cache.watch_company_tables(Publication, when=_public_publication)
public_cache.watch_company_tables(PublicationLine, Attachment, when=_on_public_publication)

cached = public_cache.cached("company", public_cache.company_token)


def community_url(community_id) -> str:
    return url_for("public_company.disclosures.community", community_id=community_id)


def _community_or_404(community_id) -> Community:
    community_id = parse_uuid_or_404(community_id)
    community = db.session.get(Community, (current_company.id, community_id))
    if community is None or community.deleted_at is not None:
        abort(404)
    return community


@public_bp.get("/")
@cached
def index():
    communities = queries.communities()
    profiles = queries.profiles_by_community()
    record = queries.record(list(profiles.values()), local_today())
    return render("tenants/disclosures/public/index.html", company=current_company._get_current_object(),
                  communities=communities, record=record)


def _community_context(community: Community) -> dict:
    profile = queries.profile_of(community.id)
    today = local_today()
    board = queries.current_board(community.id)
    current = queries.current_publications(community.id)
    ids = [p.id for p in current]
    lines = queries.lines_by_publication(ids)
    published = queries.first_published_by_period([community.id])
    calendar = queries.calendar(profile, today, published) if profile else []
    return {"company": current_company._get_current_object(), "community": community, "board": board,
            "current": current, "lines": lines, "objections": queries.objections_by_line(ids),
            "attachments": queries.attachments_by_publication(ids),
            "calendar": calendar, "overdue": [s for s in calendar if s.state == "overdue"], "Kind": Kind,
            "charts": _charts(current, lines)}


def _charts(current, lines) -> dict:
    """Bars drawn with widths in CSS (no JavaScript): income against spending of each statement, and where the
    common-area income went (cost, owners' share, the rest)."""
    bars = []
    for pub in current:
        income = sum(x.amount_fen for x in lines[pub.id] if x.direction.value == "income")
        spending = sum(x.amount_fen for x in lines[pub.id] if x.direction.value == "spending")
        cost = sum(x.cost_fen or 0 for x in lines[pub.id])
        share = sum(x.owners_share_fen or 0 for x in lines[pub.id])
        top = max(income, spending, 1)
        bars.append({"pub": pub, "income": income, "spending": spending, "cost": cost, "share": share,
                     "income_pct": round(income * 100 / top), "spending_pct": round(spending * 100 / top)})
    return {"bars": [b for b in bars if b["income"] or b["spending"]], "fund": fund_balance(current, lines)}


def fund_balance(current, lines) -> list[dict]:
    """The maintenance fund (维修资金) after each published period. Its statements carry only income and
    spending lines, not the account's balance, so this is a running sum of the current published versions in
    period order, from zero: the sum of what was published (the page says so), not the bank balance."""
    rows, balance = [], 0
    statements = sorted((p for p in current if p.kind == Kind.MAINTENANCE_FUND),
                        key=lambda p: (p.period_end, p.period_start))
    for pub in statements:
        income = sum(x.amount_fen for x in lines[pub.id] if x.direction.value == "income")
        spending = sum(x.amount_fen for x in lines[pub.id] if x.direction.value == "spending")
        balance += income - spending
        rows.append({"pub": pub, "income": income, "spending": spending, "balance": balance})
    top = max((abs(r["balance"]) for r in rows), default=0) or 1
    for r in rows:
        r["pct"] = round(abs(r["balance"]) * 100 / top)
    return rows


@public_bp.get("/<community_id>")
@cached
def community(community_id):
    community = _community_or_404(community_id)
    return render("tenants/disclosures/public/community.html", **_community_context(community))


@public_bp.get("/<community_id>/print")
@cached
def print_view(community_id):
    community = _community_or_404(community_id)
    return render("tenants/disclosures/public/print.html", **_community_context(community))


def _qr(url: str) -> str:
    # A data: URI (the CSP allows data: images), error level M, like the code letters' and repair points' posters.
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2)


@public_bp.get("/<community_id>/poster")
@cached
def poster(community_id):
    community = _community_or_404(community_id)
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + community_url(community.id)
    return render("tenants/disclosures/public/poster.html", company=current_company._get_current_object(),
                  community=community, url=url, qr=_qr(url))


@public_bp.get("/<community_id>/publications/<publication_id>")
@cached
def publication(community_id, publication_id):
    community = _community_or_404(community_id)
    pub = db.session.get(Publication, (current_company.id, parse_uuid_or_404(publication_id)))
    if pub is None or pub.community_id != community.id or pub.status == Status.DRAFT:
        abort(404)  # a draft never reaches a public page
    versions = queries.versions(pub.series_id)
    lines = queries.lines_by_publication([v.id for v in versions])
    files = queries.attachments_by_publication([v.id for v in versions])
    diffs = {older.id: diff(lines[older.id], lines[newer.id], older, newer)
             for newer, older in zip(versions, versions[1:], strict=False)}
    return render("tenants/disclosures/public/publication.html", company=current_company._get_current_object(),
                  community=community, pub=pub, versions=versions, lines=lines, diffs=diffs, attachments=files,
                  objections=queries.objections_by_line([pub.id]), Kind=Kind, objection_link=objection_link)


@public_bp.get("/attachments/<attachment_id>")
def attachment(attachment_id):
    """A file of a published (or superseded, still public in the history) version of this company: a draft's
    files, another company's ids and removed files are 404. A file never changes once its version is published,
    so its validators are its id and its version's publish time; a correction's copy is a new row (a new URL)."""
    from tenants.disclosures.routes import serve

    att = db.session.get(Attachment, (current_company.id, parse_uuid_or_404(attachment_id)))
    pub = att and db.session.get(Publication, (current_company.id, att.publication_id))
    if att is None or att.removed_at is not None or pub is None or pub.status == Status.DRAFT:
        abort(404)
    etag = hashlib.sha256(f"{att.id}:{pub.published_at.isoformat()}".encode()).hexdigest()[:32]
    if public_cache.client_has(etag):
        response = make_response("", 304)
    else:
        response = serve(att)
    response.set_etag(etag)
    response.last_modified = pub.published_at
    # Revalidated each time (a 304 by its ETag): the file never changes, but a suspended company's files are gone
    # at once, not after a cache's max-age.
    response.headers["Cache-Control"] = "public, no-cache"
    return response


def objection_link(line) -> str:
    """Where an owner raises an objection: the company's own pages, after logging in (this page stays anonymous)."""
    return url_for("company.disclosures.objection_form", company_slug=current_company.slug, line_id=line.id)


def _line_key(x):
    return x and (x.amount_fen, x.cost_fen, x.owners_share_fen, x.direction, x.detail, x.unit_price_cfen,
                  x.effective_from)


def diff(old_lines, new_lines, old: Publication, new: Publication) -> list[dict]:
    """What changed from ``old`` to ``new``: lines added, removed or changed (matched by their item), and the
    board's rows for a board. Each entry: {"what", "before", "after"}."""
    out = []
    if old.kind == Kind.BOARD:
        before = {r["name"]: r for r in (old.board or {}).get("items", []) + (old.board or {}).get("utilities", [])}
        after = {r["name"]: r for r in (new.board or {}).get("items", []) + (new.board or {}).get("utilities", [])}
        for name in sorted(set(before) | set(after)):
            b, a = before.get(name), after.get(name)
            if (b and b["price_cfen"], b and b["effective_from"]) != (a and a["price_cfen"], a and a["effective_from"]):
                out.append({"what": name, "before": b and ("cfen", b["price_cfen"]),
                            "after": a and ("cfen", a["price_cfen"])})
        return out
    before = {x.label: x for x in old_lines}
    after = {x.label: x for x in new_lines}
    for label in list(dict.fromkeys([*before, *after])):
        b, a = before.get(label), after.get(label)
        if _line_key(b) != _line_key(a):
            out.append({"what": label, "before": b and ("fen", b.amount_fen), "after": a and ("fen", a.amount_fen),
                        "detail_before": b.detail if b else "", "detail_after": a.detail if a else ""})
    return out


