"""User-entered text never reaches a page as markup.

Every name, note and file name a person can type is planted with markup (an ``hx-get`` that htmx would fire with
the page's CSRF header, and an attribute break-out), then every GET route of the app is walked as each role and
the raw markup must not appear in any HTML answer. Translated messages that carry a name (``_l("…%(name)s…")``)
were the hole: Flask-Babel's lazy strings declare themselves safe markup (saas/i18n.py has the fix).

A new text column must be declared here as planted or as not typed by a person
(test_every_text_column_is_planted_or_declared), so the walk keeps covering what the app stores.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.test_isolation import route_values
from tests.world.stewards import png_bytes

pytestmark = pytest.mark.usefixtures("uploads")  # files go to this test's own folder

MARKUP = '<b hx-get="/x">X</b>'
BREAKOUT = '"><img src=x>'
SHORT = "<img src=x>"  # for columns of 16 to 23 characters
RAW = re.compile(r"<b hx-get|<img src=x")
ESCAPED = ("&lt;b hx-get", "&lt;img src=x")

# (table, column): text a person types, or a snapshot of it (audit labels, notices, outbox copies).
PLANTED = {
    ("companies", "name"), ("companies", "address"), ("companies", "complaint_phone"),
    ("companies", "service_phone"),
    ("users", "name"),
    ("audit_events", "actor_name"), ("audit_events", "object_label"), ("audit_events", "changes"),
    ("platform_audit_events", "actor_name"), ("platform_audit_events", "details"),
    ("communities", "name"), ("communities", "address"),
    ("buildings", "name"),
    ("households", "unit"), ("households", "room"), ("households", "owner_name"),
    ("export_jobs", "message"),
    ("import_batches", "filename"), ("import_batches", "errors"), ("import_batches", "message"),
    ("invitations", "name"),
    ("notifications", "body"),
    ("outbox_messages", "subject"), ("outbox_messages", "body"),
    ("steward_profiles", "work_phone"), ("steward_profiles", "working_hours"),
    ("steward_assignments", "note"), ("steward_assignments", "end_note"),
    ("steward_contacts", "note"),
    ("work_order_categories", "name"),
    ("repair_points", "name"),
    ("work_orders", "location"), ("work_orders", "description"), ("work_orders", "preferred_time"),
    ("work_orders", "reporter_name"), ("work_orders", "quote_note"), ("work_orders", "rating_comment"),
    ("work_order_events", "actor_name"), ("work_order_events", "note"),
    ("work_order_follow_ups", "note"),
    ("fee_settings", "late_fee_clause"), ("fee_settings", "offline_instructions"),
    ("fee_items", "name"), ("fee_rates", "note"), ("parking_spaces", "name"),
    ("bill_runs", "preview"), ("bill_runs", "error"),
    ("bills", "title"), ("bills", "detail"), ("bills", "late_fee_clause"), ("bills", "reason"),
    ("bill_adjustments", "reason"), ("credit_entries", "note"),
    ("payments", "reference"), ("payments", "note"), ("payment_refunds", "reason"),
    ("invoice_requests", "title"), ("invoice_requests", "invoice_number"), ("invoice_requests", "reject_reason"),
    ("disclosure_profiles", "charged_party"), ("disclosure_profiles", "service_grade"),
    ("disclosure_profiles", "basis_document"), ("disclosure_publications", "title"),
    ("disclosure_publications", "note"), ("disclosure_publications", "correction_reason"),
    ("disclosure_publications", "board"), ("disclosure_publications", "published_by_name"),
    ("disclosure_lines", "label"), ("disclosure_lines", "detail"), ("disclosure_objections", "building_label"),
    ("disclosure_objections", "question"), ("disclosure_objections", "public_question"),
    ("disclosure_objections", "reply"), ("disclosure_objections", "public_reply"),
    ("owner_ratings", "comment"), ("owner_ratings", "community_name"), ("owner_ratings", "fold_reason"),
    ("owner_ratings", "exclude_reason"), ("rating_replies", "body"), ("rating_rules", "note"),
    ("rating_list_entries", "city"), ("rating_list_entries", "company_name"), ("rating_list_entries", "reason"),
    ("rating_list_entries", "evidence"), ("rating_list_entries", "end_reason"),
    ("rating_profiles", "name"), ("rating_profiles", "city"),
    ("rating_weekly_ranks", "city"), ("rating_weekly_ranks", "company_name"),
    ("rating_appeals", "statement"), ("rating_appeals", "evidence"), ("rating_appeals", "decision_reason"),
    ("disclosure_attachments", "filename"),  # cleaned of markup on upload, planted here all the same
}
# Codes, secrets, checked formats (slugs, phones, e-mail addresses) and machine references: not free text.
NOT_TYPED = {
    ("owner_ratings", "ip"), ("owner_ratings", "device"), ("rating_flags", "ip"),
    ("rating_list_entries", "slug"), ("rating_list_entries", "grade"), ("rating_profiles", "slug"),
    ("rating_profiles", "grade"), ("rating_weekly_ranks", "slug"), ("rating_weekly_ranks", "grade"),
    ("rating_quarter_figures", "figures"), ("rating_quarter_figures", "grade"), ("rating_quarter_figures", "parts"),
    ("rating_rules", "params"),
    ("public_versions", "name"),  # saas/public_cache.py: a group's name in code ("ratings")
    ("companies", "slug"), ("companies", "licence_number"), ("companies", "plan_code"),
    ("companies", "stripe_customer_id"), ("companies", "stripe_subscription_id"),
    ("users", "phone"), ("users", "email"), ("users", "password_hash"),
    ("audit_events", "action"), ("audit_events", "object_type"), ("audit_events", "ip"),
    ("platform_audit_events", "action"),
    ("export_jobs", "stored_path"),
    ("import_batches", "file_sha256"), ("import_batches", "stored_path"), ("import_batches", "kind"),
    ("invitations", "phone"), ("invitations", "email"), ("invitations", "token_hash"),
    ("notifications", "subject_type"),
    ("outbox_messages", "recipient"), ("outbox_messages", "kind"), ("outbox_messages", "error"),
    ("repair_point_tokens", "token"), ("repair_points", "token"),
    ("stripe_events", "id"), ("stripe_events", "type"), ("stripe_events", "outcome"),
    ("households", "owner_phone"), ("households", "household_code"),
    ("work_orders", "number"), ("work_orders", "reporter_phone"),
    ("work_order_events", "action"),
    ("work_order_photos", "path"),
    ("work_order_weeks", "kind"),  # "c" or "a": which key a row of the dashboard's weekly figures counts by
    ("work_order_median_cache", "payload"),  # computed medians (JSON numbers and ids), never typed by a person
    ("work_order_status_counts", "status"),  # a Status value the status counts are kept by
    ("alembic_version", "version_num"),
    ("companies", "wechat_sub_mchid"), ("fee_payment_routes", "out_trade_no"),
    ("bill_runs", "job_id"), ("bills", "charge_key"), ("collection_reminders", "channel"),
    ("meter_readings", "source"),
    ("payments", "receipt_number"), ("payments", "out_trade_no"), ("payments", "wechat_transaction_id"),
    ("payments", "wechat_channel"), ("payments", "wechat_code_url"), ("payments", "wechat_trade_state"),
    ("payment_events", "from_status"), ("payment_events", "to_status"), ("payment_events", "source"),
    ("payment_events", "details"),  # what WeChat Pay answered, kept for disputes; never typed by a person
    ("payment_refunds", "out_refund_no"), ("payment_refunds", "wechat_refund_id"),
    ("invoice_requests", "tax_number"), ("invoice_requests", "email"), ("invoice_requests", "file_path"),
    ("disclosure_profiles", "complaint_phone"), ("disclosure_objections", "photo_path"),
    ("disclosure_attachments", "content_type"), ("disclosure_attachments", "file_path"),
    ("fee_payment_days", "method"), ("fee_payment_days", "status"),  # copies of payments' enum values
}
# JSON keys whose values the app reads as codes (kept, or the page could not be drawn at all).
JSON_CODE_KEYS = {"kind", "message", "action", "object_type"}


def _text_columns(app):
    from saas.extensions import db

    with app.app_context():
        tables = list(db.metadata.sorted_tables)
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, (sa.String, sa.Text, sa.JSON)) and not isinstance(column.type, sa.Enum):
                yield table, column


def test_every_text_column_is_planted_or_declared(app):
    undeclared = [f"{t.name}.{c.name}" for t, c in _text_columns(app)
                  if (t.name, c.name) not in PLANTED | NOT_TYPED]
    assert not undeclared, f"declare these in PLANTED (typed by a person) or NOT_TYPED: {undeclared}"


# --- the world, planted ----------------------------------------------------------------------------------------


def _plant_text(value: str, length: int | None) -> str:
    if length is None or length >= 60:
        return MARKUP + BREAKOUT + value
    marker = BREAKOUT if length >= 24 else SHORT
    # The end of the old value keeps unique names unique ("1号楼", "0201").
    return marker + value[len(value) - (length - len(marker)):] if len(marker) + len(value) > length \
        else marker + value


def _plant_json(value, key=None):
    if isinstance(value, dict):
        return {k: v if k in JSON_CODE_KEYS else _plant_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_plant_json(v, key) for v in value]
    if isinstance(value, str):
        return MARKUP + BREAKOUT + value
    return value


def _plant(app, owner_engine):
    from tests.conftest import ON_POSTGRES

    columns: dict = {}
    for table, column in _text_columns(app):
        if (table.name, column.name) in PLANTED:
            columns.setdefault(table, []).append(column)
    with owner_engine.begin() as conn:
        if ON_POSTGRES:  # the owner is under row-level security too (FORCE)
            conn.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
        for table, cols in columns.items():
            pk = list(table.primary_key.columns)
            for row in conn.execute(sa.select(*pk, *cols)).mappings().all():
                values = {}
                for col in cols:
                    old = row[col.name]
                    if isinstance(col.type, sa.JSON):
                        values[col.name] = _plant_json(old) if old is not None else None
                    else:
                        values[col.name] = _plant_text(old or "", getattr(col.type, "length", None))
                conn.execute(sa.update(table).where(*(c == row[c.name] for c in pk)).values(**values))


@pytest.fixture
def planted(app, two_companies, make_user, owner_engine):
    """Company A with something in every kind of record, then markup planted into all of its text."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Membership, PlatformAuditEvent
    from saas.tenancy import company_context
    from tenants.imports.models import ImportBatch, ImportStatus
    from tenants.roster.models import Household
    from tenants.stewards import services as stewards
    from tenants.work_orders import services as work_orders
    from tenants.work_orders.models import WorkOrder

    a, _ = two_companies
    a.platform_admin = make_user("平台管理员", platform_admin=True)
    with app.app_context(), company_context(a.company.id):
        steward = db.session.execute(select(Membership).where(Membership.user_id == a.steward.id)).scalar_one()
        user = db.session.get(type(a.steward), a.steward.id)
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        stewards.log_contact(household, steward, kind="call", contacted_on=date.today(), note="电话回访",
                             actor=user, today=date.today())
        order = db.session.get(WorkOrder, (a.company.id, a.ids["order_id"]))
        work_orders.comment(order, actor=user, membership=steward, note="明天上午去看")
        db.session.add(ImportBatch(created_by_id=a.admin.id, filename="业主名单.xlsx", file_sha256="1" * 64,
                                   stored_path=f"{a.company.id}/imports/missing2.xlsx", status=ImportStatus.INVALID,
                                   total_rows=1, processed_rows=1, error_count=1,
                                   errors=[{"row": 3, "column": "E", "message":
                                            "Write 已入住, 空置 or 未交付, not “%(value)s”.",
                                            "params": {"value": "住着"}}]))
        db.session.commit()
    with app.app_context():
        db.session.add(PlatformAuditEvent(actor_id=a.platform_admin.id, actor_name="平台管理员",
                                          action="company.suspended", company_id=a.company.id,
                                          details={"reason": "欠费", "new_account": True,
                                                   "changes": {"name": ["甲", "乙"]}}))
        db.session.commit()
    _plant(app, owner_engine)
    return a


# --- the walk --------------------------------------------------------------------------------------------------


def _assert_escaped(response, where: str):
    if response.mimetype != "text/html":
        return
    body = response.get_data(as_text=True)
    found = RAW.search(body)
    assert not found, f"{where}: unescaped markup …{body[max(found.start() - 200, 0):found.end() + 80]}…"


def test_planted_markup_is_escaped_on_every_page_for_every_role(app, planted, login_as):
    world = planted
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    clients = {"anonymous": app.test_client()}
    for name in ("platform_admin", "admin", "steward", "technician", "owner", "cashier"):
        clients[name] = login_as(getattr(world, name))
    # Filters echo their query back into the page: those are planted too.
    query = "?" + "&".join(f"{k}={MARKUP}" for k in ("q", "action", "status", "object_type", "next"))
    pages = seen = 0
    for who, client in clients.items():
        for rule in rules:
            url = rule.build(route_values(app, rule, world))[1]
            for full in (url, url + query):
                response = client.get(full)
                assert response.status_code < 500, f"GET {full} as {who} → {response.status_code}"
                _assert_escaped(response, f"GET {full} as {who}")
                pages += 1
                body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
                seen += any(e in body for e in ESCAPED)
    # The walk must have reached the planted text, escaped, on many pages (or it proves nothing).
    assert pages > 200 and seen > 100, (pages, seen)


# --- messages that carry a name --------------------------------------------------------------------------------


@pytest.mark.parametrize("who, url", [("owner", "/c/{slug}/my/repairs/{order}/comment"),
                                      ("technician", "/c/{slug}/work-orders/{order}/comment")])
def test_a_photo_file_name_in_the_comment_error_is_escaped(app, two_companies, login_as, who, url):
    world, _ = two_companies
    client = login_as(getattr(world, who))
    # No quote or slash in it: the multipart header would cut the name there.
    not_a_photo = (io.BytesIO(b"not an image at all"), "<b hx-get=x>X<img src=x>.png")
    response = client.post(url.format(slug=world.company.slug, order=world.ids["order_id"]),
                           data={"note": "看看", "photos": [not_a_photo]}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "&lt;b hx-get=" in body  # the message is there, with the name as text
    _assert_escaped(response, f"POST {url} as {who}")


def test_a_broken_photo_file_name_in_a_report_is_escaped(app, two_companies, login_as):
    world, _ = two_companies
    client = login_as(world.owner)
    broken = (io.BytesIO(png_bytes()[:40]), "<b hx-get=x>X<img src=x>.png")
    response = client.post(f"/c/{world.company.slug}/my/repairs/new", content_type="multipart/form-data",
                           data={"area": "home", "category_id": str(world.ids["category_id"]), "priority": "normal",
                                 "description": "漏水", "photos": [broken]})
    assert response.status_code == 422
    assert "&lt;b hx-get=" in response.get_data(as_text=True)
    _assert_escaped(response, "POST my/repairs/new")


def test_lazy_messages_escape_what_they_carry(app):
    from markupsafe import Markup, escape

    from saas.i18n import _l

    with app.test_request_context():
        message = _l("The photo “%(name)s” is empty.", name=MARKUP)
        assert str(message) == f"The photo “{MARKUP}” is empty."  # the text itself is unchanged
        assert str(escape(message)) == str(escape(str(message)))
        assert RAW.search(Markup("<p>%s</p>") % message) is None
        assert RAW.search(Markup("<p>{}</p>").format(message)) is None


def test_a_flashed_lazy_message_stays_text_on_the_next_page(app):
    """Flask keeps anything with __html__ as Markup in the session: a flashed lazy message came back "safe"."""
    from flask.json.tag import TaggedJSONSerializer
    from markupsafe import escape

    from saas.i18n import _l

    with app.test_request_context():
        serializer = TaggedJSONSerializer()
        message = serializer.loads(serializer.dumps({"m": _l("You are already a member of %(company)s.",
                                                             company=MARKUP)}))["m"]
        assert RAW.search(str(escape(message))) is None


def test_no_module_takes_lazy_strings_straight_from_flask_babel():
    """Flask-Babel's own lazy strings are "safe markup": every module imports _l from saas.i18n instead."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"^\s*from flask_babel import .*\blazy_(n|p)?gettext\b|flask_babel\.lazy_", re.M)
    offenders = [str(p.relative_to(root)) for folder in ("saas", "tenants") for p in (root / folder).rglob("*.py")
                 if p.name != "i18n.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"import _l from saas.i18n in: {offenders}"
