"""Printable household notices, lobby posters and regeneration of household codes."""

from __future__ import annotations

import re
from itertools import chain

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company
from saas.tenancy import company_context
from tenants.roster.models import Household

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)")  # the CSP allows only the app's own script files


def _codes(app, world) -> dict:
    with app.app_context(), company_context(world.company.id):
        return {h.id: h.household_code for h in db.session.execute(select(Household)).scalars()}


def _notices_url(world, building_id=None):
    return f"/c/{world.company.slug}/buildings/{building_id or world.roster['buildings'][0]}/notices"


def test_notices_give_each_household_a_printable_page_with_its_code_and_qr(app, two_companies, login_as):
    a, _ = two_companies
    building_id = a.roster["buildings"][0]
    assert all(code is None for code in _codes(app, a).values())  # the world's households have no codes yet
    response = login_as(a.admin).get(_notices_url(a))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    codes = _codes(app, a)
    with app.app_context(), company_context(a.company.id):
        in_building = db.session.execute(select(Household).where(Household.building_id == building_id)).scalars().all()
        elsewhere = db.session.execute(select(Household).where(Household.building_id != building_id)).scalars().all()
        assert len(in_building) == 2
        for h in in_building:
            assert codes[h.id] and codes[h.id] in page and h.room in page
            assert f'id="household-{h.id}"' in page
        assert all(codes[h.id] is None for h in elsewhere)  # only the printed building got codes
    assert page.count('class="notice-page"') == 2
    assert page.count('src="data:image/svg+xml') == 2
    join_url = f"{app.config['PUBLIC_BASE_URL']}/join/{a.company.slug}"
    assert join_url in page
    assert "css/print.css" in page and "style=" not in page and not INLINE_SCRIPT.search(page)
    with app.app_context():
        assert db.session.get(Company, a.company.id).notices_printed_at is not None


def test_the_qr_code_encodes_the_join_address_with_the_code(app, two_companies, login_as):
    import segno

    from tenants.code_letters.routes import qr_data_uri

    a, _ = two_companies
    page = login_as(a.admin).get(_notices_url(a)).get_data(as_text=True)
    code = next(c for c in _codes(app, a).values() if c and c in page)
    url = f"{app.config['PUBLIC_BASE_URL']}/join/{a.company.slug}?code={code}"
    with app.app_context():
        assert qr_data_uri(url) in page
    assert segno.make(url, error="m").designator  # the URL fits a QR code comfortably


def test_printing_again_keeps_codes_and_the_first_printing_date(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    admin.get(_notices_url(a))
    first = _codes(app, a)
    with app.app_context():
        printed = db.session.get(Company, a.company.id).notices_printed_at
    admin.get(_notices_url(a))
    assert _codes(app, a) == first
    with app.app_context():
        assert db.session.get(Company, a.company.id).notices_printed_at == printed


def test_deleted_households_get_no_notice(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    hid = a.roster["households"][0]
    admin.post(f"/c/{a.company.slug}/households/{hid}/delete")
    page = admin.get(_notices_url(a)).get_data(as_text=True)
    assert page.count('class="notice-page"') == 1 and f"household-{hid}" not in page


def test_poster_links_to_the_join_page_without_a_code(app, two_companies, login_as):
    a, _ = two_companies
    response = login_as(a.admin).get(f"/c/{a.company.slug}/communities/{a.roster['communities'][0]}/poster")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    join_url = f"{app.config['PUBLIC_BASE_URL']}/join/{a.company.slug}"
    assert join_url in page and "?code=" not in page
    assert 'src="data:image/svg+xml' in page and "A标记小区1" in page and "style=" not in page


def test_regenerating_a_building_asks_first_then_replaces_every_code(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    admin.get(_notices_url(a))
    before = _codes(app, a)
    url = f"/c/{a.company.slug}/buildings/{a.roster['buildings'][0]}/codes"
    confirm = admin.post(url)
    assert confirm.status_code == 200 and "stop working" in confirm.get_data(as_text=True)
    assert _codes(app, a) == before
    response = admin.post(url, data={"confirm": "yes"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/notices")
    after = _codes(app, a)
    printed = [hid for hid, code in before.items() if code]
    assert len(printed) == 2
    for hid in printed:
        assert after[hid] and after[hid] != before[hid]
    with app.app_context(), company_context(a.company.id):
        events = db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.action == "household.code_regenerate")).all()
    assert sorted(events) == sorted(printed)


def test_a_regenerated_code_no_longer_lets_an_owner_join(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    hid = a.roster["households"][1]
    admin.get(_notices_url(a))
    old = _codes(app, a)[hid]
    admin.post(f"/c/{a.company.slug}/households/{hid}/code", data={"confirm": "yes"})
    new = _codes(app, a)[hid]
    assert new != old
    data = {"phone": "13711112222", "password": "owner-pass-1"}
    assert app.test_client().post(f"/join/{a.company.slug}", data={**data, "code": old}).status_code == 422
    assert app.test_client().post(f"/join/{a.company.slug}", data={**data, "code": new}).status_code == 303


def test_regenerating_one_household_leaves_the_others(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    admin.get(_notices_url(a))
    before = _codes(app, a)
    hid = a.roster["households"][0]
    assert admin.post(f"/c/{a.company.slug}/households/{hid}/code").status_code == 200  # the question first
    assert _codes(app, a) == before
    response = admin.post(f"/c/{a.company.slug}/households/{hid}/code", data={"confirm": "yes"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#household-{hid}")
    after = _codes(app, a)
    assert after[hid] != before[hid]
    assert {k: v for k, v in after.items() if k != hid} == {k: v for k, v in before.items() if k != hid}


def test_a_new_code_never_repeats_one_the_company_already_has(app, two_companies, login_as, monkeypatch):
    from tenants.roster import codes as code_module

    a, b = two_companies
    admin = login_as(a.admin)
    admin.get(_notices_url(a))
    before = _codes(app, a)
    taken = next(c for c in before.values() if c)
    fresh = iter(chain([taken, taken], (f"NEW{i:05d}" for i in range(100))))
    monkeypatch.setattr(code_module, "generate_household_code", lambda: next(fresh))
    hid = next(h for h, c in before.items() if c and c != taken)
    admin.post(f"/c/{a.company.slug}/households/{hid}/code", data={"confirm": "yes"})
    after = _codes(app, a)
    assert after[hid].startswith("NEW") and list(after.values()).count(taken) == 1
    # Codes are unique per company: another company may hold the same code.
    for_b = iter(chain([taken], (f"BBB{i:05d}" for i in range(100))))
    monkeypatch.setattr(code_module, "generate_household_code", lambda: next(for_b))
    login_as(b.admin).get(_notices_url(b))
    assert taken in _codes(app, b).values()


def test_a_broken_code_generator_gives_a_message_not_a_hang(app, two_companies, login_as, monkeypatch):
    from tenants.roster import codes as code_module

    a, _ = two_companies
    monkeypatch.setattr(code_module, "generate_household_code", lambda: "SAMECODE")
    response = login_as(a.admin).get(_notices_url(a))  # two households need two different codes
    assert response.status_code == 200 and "could not be made" in response.get_data(as_text=True)
    assert all(code is None for code in _codes(app, a).values())


def test_notice_pages_are_for_admins_only(app, two_companies, login_as):
    a, _ = two_companies
    hid, cid = a.roster["households"][0], a.roster["communities"][0]
    for user in (a.steward, a.technician, a.owner):
        client = login_as(user)
        assert client.get(_notices_url(a)).status_code == 403
        assert client.get(f"/c/{a.company.slug}/communities/{cid}/poster").status_code == 403
        assert client.post(f"/c/{a.company.slug}/buildings/{a.roster['buildings'][0]}/codes",
                           data={"confirm": "yes"}).status_code == 403
        assert client.post(f"/c/{a.company.slug}/households/{hid}/code", data={"confirm": "yes"}).status_code == 403
    assert all(code is None for code in _codes(app, a).values())
    with app.app_context():
        assert db.session.get(Company, a.company.id).notices_printed_at is None
        with company_context(a.company.id):
            assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action.like("household.code%"))) == 0


def test_printing_a_building_is_one_audit_event_not_one_per_household(app, two_companies, login_as):
    a, _ = two_companies
    login_as(a.admin).get(_notices_url(a))
    with app.app_context(), company_context(a.company.id):
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "household.code_assign")
                                    ).scalars().all()
        assert len(events) == 1 and events[0].changes == {"households": [None, 2]}
        assert re.search("号楼", events[0].object_label)


# --- print button and icon ------------------------------------------------------------------------------


def _print_pages(world) -> list[str]:
    slug = world.company.slug
    return [_notices_url(world), f"/c/{slug}/communities/{world.ids['community_id']}/poster",
            f"/c/{slug}/work-orders/points/{world.ids['point_id']}"]


def test_every_print_page_has_a_print_button_wired_by_an_external_script(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    for url in _print_pages(a):
        page = admin.get(url).get_data(as_text=True)
        toolbar = page[page.index('class="no-print'):]  # the bar that print.css hides on paper
        assert re.search(r'<button[^>]*type="button"[^>]*data-print', toolbar), url
        assert "Print</button>" in toolbar, url
        scripts = re.findall(r'<script src="([^"]+)"', page)
        assert any("js/print.js" in src for src in scripts), url
        assert not INLINE_SCRIPT.search(page) and " onclick=" not in page, url
        assert admin.get(next(src for src in scripts if "js/print.js" in src)).status_code == 200
    # Reached by a boosted link from an ordinary page, the script is already there: the base layout loads it.
    base = admin.get(f"/c/{a.company.slug}/communities").get_data(as_text=True)
    assert re.search(r'<script src="[^"]*js/print\.js', base)


def test_no_page_asks_for_a_missing_favicon(app, two_companies, login_as):
    """A page without a <link rel="icon"> makes the browser fetch /favicon.ico, which is a 404 here."""
    a, _ = two_companies
    admin = login_as(a.admin)
    pages = [*_print_pages(a), f"/c/{a.company.slug}/communities", "/login"]
    for url in pages:
        client = admin if url != "/login" else app.test_client()
        page = client.get(url).get_data(as_text=True)
        icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
        assert icon, url
        assert not icon.group(1).startswith("data:"), url  # a real icon, not an empty placeholder
        response = client.get(icon.group(1))
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", url
