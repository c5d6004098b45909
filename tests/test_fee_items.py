"""Fee settings, fee items and their rate versions, parking spaces, a household's inner floor area and meter
readings typed on a phone: pages and services, with bad input refused with a specific message."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tenants.fees.items import FeeItemError, parse_price


def test_prices_have_up_to_four_decimals_and_stay_in_range():
    assert parse_price("1.85") == 18500 and parse_price("¥0.5283") == 5283 and parse_price("10,000") == 100_000_000
    for bad in ("", "abc", "-1", "1.23456", "1e30", "10000.01", "nan", "inf"):
        with pytest.raises(FeeItemError):
            parse_price(bad)


def _base(world):
    return f"/c/{world.company.slug}/fees"


@pytest.mark.world()
def test_late_fees_switch_on_only_with_the_contract_clause(app, two_companies, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees.settings import get_settings

    a, _ = two_companies
    client = login_as(a.admin)
    data = {"due_days": "15", "prepay_cap_months": "12", "reminder_interval_days": "7",
            "offline_instructions": "工商银行", "late_fees_enabled": "y", "late_fee_daily_permyriad": "5",
            "late_fee_grace_days": "30", "late_fee_cap_percent": "20", "late_fee_clause": ""}
    response = client.post(f"{_base(a)}/settings", data=data)
    assert response.status_code == 422
    with app.app_context(), company_context(a.company.id):
        assert get_settings().late_fees_enabled is False
    assert client.post(f"{_base(a)}/settings", data=data | {"late_fee_clause": "第十二条",
                                                             "late_fee_daily_permyriad": "500"}).status_code == 422
    assert client.post(f"{_base(a)}/settings", data=data | {"late_fee_clause": "第十二条"}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        s = get_settings()
        assert s.late_fees_enabled and s.late_fee_daily_permyriad == 5 and s.late_fee_clause == "第十二条"
        db.session.rollback()
    assert client.get(f"{_base(a)}/settings").status_code == 200
    assert login_as(a.steward).get(f"{_base(a)}/settings").status_code == 403


@pytest.mark.world()
def test_items_are_added_renamed_and_archived_never_deleted(app, two_companies, login_as):
    from sqlalchemy import select

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees.models import FeeItem, FeeKind, FeeRate

    a, _ = two_companies
    client = login_as(a.admin)
    community = a.ids["community_id"]
    response = client.post(f"{_base(a)}/items?community_id={community}",
                           data={"name": "水费", "kind": "metered", "meter_kind": "water", "vacant_percent": "0"})
    assert response.status_code == 303
    item_url = response.headers["Location"]
    assert client.post(f"{_base(a)}/items?community_id={community}",
                       data={"name": "水费", "kind": "fixed", "vacant_percent": "100"}).status_code == 422
    assert client.post(f"{item_url}/rates", data={"price": "-1", "effective_from": "2026-01-01"}).status_code == 422
    assert client.post(f"{item_url}/rates", data={"price": "5.28", "effective_from": "2026-01-01"}).status_code == 303
    assert client.post(item_url, data={"name": "自来水费"}).status_code == 303
    page = client.get(f"{_base(a)}/items?community_id={community}").get_data(as_text=True)
    assert "自来水费" in page and "¥5.28" in page
    assert client.post(f"{item_url}/archive").status_code == 303
    with app.app_context(), company_context(a.company.id):
        item = db.session.execute(select(FeeItem)).scalar_one()
        assert item.kind == FeeKind.METERED and item.vacant_percent == 100  # metered: no vacancy discount
        assert item.archived_at is not None and item.name == "自来水费"
        assert db.session.execute(select(FeeRate)).scalar_one().unit_price_cfen == 52800
    assert login_as(a.steward).get(f"{_base(a)}/items").status_code == 403


@pytest.mark.world()
def test_parking_spaces_with_holder_and_soft_delete(app, two_companies, login_as):
    from sqlalchemy import select

    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.fees.models import ParkingSpace

    a, b = two_companies
    client = login_as(a.admin)
    url = f"{_base(a)}/spaces?community_id={a.ids['community_id']}"
    assert client.post(url, data={"name": "B1-001", "holder": str(a.ids["household_id"])}).status_code == 303
    assert client.post(url, data={"name": "B1-001", "holder": ""}).status_code == 422
    assert client.post(url, data={"name": "B1-002", "holder": str(b.ids["household_id"])}).status_code == 422
    with app.app_context(), company_context(a.company.id):
        space = db.session.execute(select(ParkingSpace)).scalar_one()
        assert space.holder_household_id == a.ids["household_id"]
    assert client.post(f"{_base(a)}/spaces/{space.id}", data={"name": "B1-009", "holder": ""}).status_code == 303
    assert client.post(f"{_base(a)}/spaces/{space.id}/delete").status_code == 303
    with app.app_context(), company_context(a.company.id):
        space = db.session.execute(select(ParkingSpace)).scalar_one()
        assert space.name == "B1-009" and space.holder_household_id is None and space.deleted_at is not None


@pytest.mark.world()
def test_meter_readings_refuse_going_backwards_unless_a_new_meter(app, two_companies, login_as):
    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.fees import items
    from tenants.roster.models import Community

    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        admin = db.session.get(User, a.admin.id)
        community = db.session.get(Community, (a.company.id, a.ids["community_id"]))
        item_id = items.create_item(community, name="电费", kind="metered", meter_kind="electricity", actor=admin).id
    today = local_today()
    client = login_as(a.steward)  # readings are typed by staff on a phone
    url = f"{_base(a)}/households/{a.ids['household_id']}/readings"
    first = {"fee_item_id": str(item_id), "read_on": (today - timedelta(days=10)).isoformat(), "reading": "100.5"}
    assert client.post(url, data=first).status_code == 303
    lower = {"fee_item_id": str(item_id), "read_on": today.isoformat(), "reading": "90"}
    response = client.post(url, data=lower)
    assert response.status_code == 422 and "100.5" in response.get_data(as_text=True)
    assert client.post(url, data=lower | {"reset": "y"}).status_code == 303
    assert client.post(url, data=first | {"read_on": (today + timedelta(days=1)).isoformat()}).status_code == 422
    assert client.post(url, data=first | {"reading": "abc"}).status_code == 422
    page = client.get(f"{_base(a)}/households/{a.ids['household_id']}").get_data(as_text=True)
    assert "100.5" in page and "90" in page


@pytest.mark.world()
def test_inner_floor_area_is_entered_on_the_fee_page(app, two_companies, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    a, _ = two_companies
    client = login_as(a.admin)
    url = f"{_base(a)}/households/{a.ids['household_id']}/inner-area"
    assert client.post(url, data={"inner_area": "500"}).status_code == 422  # larger than the gross 88.50
    assert client.post(url, data={"inner_area": "72.30"}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(Household, (a.company.id, a.ids["household_id"])).inner_area_dm2 == 7230
    assert login_as(a.steward).post(url, data={"inner_area": "70"}).status_code == 403


@pytest.mark.world()
def test_fees_hub_links_the_pages(app, two_companies, login_as):
    a, _ = two_companies
    page = login_as(a.admin).get(_base(a)).get_data(as_text=True)
    assert "/fees/items" in page and "/fees/runs" in page and "/fees/settings" in page
    assert date.today() and login_as(a.owner).get(_base(a)).status_code == 403
