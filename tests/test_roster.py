"""The roster through its pages: add, validate, edit inline, search, paginate, soft delete and restore."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent
from saas.tenancy import company_context
from tenants.roster.models import Building, Community, Household

HX = {"HX-Request": "true"}


def _households(app, company_id, **where):
    with app.app_context(), company_context(company_id):
        stmt = select(Household)
        for key, value in where.items():
            stmt = stmt.where(getattr(Household, key) == value)
        rows = db.session.execute(stmt).scalars().all()
        for r in rows:
            _ = r.building.community.name
        db.session.expunge_all()
        return rows


def _valid(a, **changes):
    data = {"building_id": str(a.roster["buildings"][0]), "unit": "2", "room": "1503", "floor_area": "89.5",
            "occupancy": "occupied", "owner_name": "钱多多", "owner_phone": "+86 139-1234-5678"}
    data.update(changes)
    return data


def test_admin_adds_a_household_through_htmx(app, a, admin):
    response = admin.post(f"/c/{a.company.slug}/households", data=_valid(a), headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#household-new-rows"' in body and "1503" in body
    [h] = _households(app, a.company.id, room="1503")
    assert h.owner_phone == "13912345678" and h.floor_area_dm2 == 8950 and h.unit == "2"
    # It appears in the list and in search.
    listing = admin.get(f"/c/{a.company.slug}/households?q=钱多多").get_data(as_text=True)
    assert "1503" in listing and "13912345678" in listing


def test_add_without_htmx_redirects(app, a, admin):
    response = admin.post(f"/c/{a.company.slug}/households", data=_valid(a))
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"room": ""}, "room number"),
        ({"room": "x" * 17}, "16"),
        ({"floor_area": "0"}, "between 1 and 2,000"),
        ({"floor_area": "-5"}, "between 1 and 2,000"),
        ({"floor_area": "2000.01"}, "between 1 and 2,000"),
        ({"floor_area": "99999999999"}, "between 1 and 2,000"),
        ({"floor_area": "89.555"}, "two decimals"),
        ({"floor_area": "abc"}, "must be a number"),
        ({"floor_area": "NaN"}, "must be a number"),
        ({"floor_area": ""}, "Enter the floor area"),
        ({"owner_phone": "12345"}, "mainland mobile"),
        ({"owner_phone": "23800138000"}, "mainland mobile"),
        ({"owner_name": "名" * 33}, "32"),
        ({"building_id": "not-a-building"}, "Not a valid choice"),
        ({"occupancy": "sold"}, "Not a valid choice"),
        ({"owner_name": "a\x00b"}, "control characters"),
    ],
)
def test_bad_household_input_is_explained_next_to_the_field_and_changes_nothing(app, a, admin, changes, message):
    before = len(_households(app, a.company.id))
    response = admin.post(f"/c/{a.company.slug}/households", data=_valid(a, **changes), headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "invalid-feedback" in body and message in body, body[:2000]
    assert len(_households(app, a.company.id)) == before


def test_duplicate_room_in_one_building_is_refused(app, a, admin):
    existing = _households(app, a.company.id)[0]
    data = _valid(a, building_id=str(existing.building_id), unit=existing.unit, room=existing.room)
    response = admin.post(f"/c/{a.company.slug}/households", data=data, headers=HX)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert len(_households(app, a.company.id, room=existing.room, building_id=existing.building_id)) == 1


def test_same_room_in_another_unit_or_building_is_fine(app, a, admin):
    existing = _households(app, a.company.id)[0]
    data = _valid(a, building_id=str(existing.building_id), unit="9", room=existing.room)
    assert admin.post(f"/c/{a.company.slug}/households", data=data, headers=HX).status_code == 200


def test_another_companys_building_cannot_be_chosen(app, two_companies, admin):
    a, b = two_companies
    data = _valid(a, building_id=str(b.roster["buildings"][0]))
    response = admin.post(f"/c/{a.company.slug}/households", data=data, headers=HX)
    assert response.status_code == 422
    assert _households(app, b.company.id, room="1503") == []


def test_inline_edit_updates_the_row_and_records_the_change(app, a, admin):
    hid = a.roster["households"][1]
    edit = admin.get(f"/c/{a.company.slug}/households/{hid}/edit", headers=HX)
    assert edit.status_code == 200 and 'name="room"' in edit.get_data(as_text=True)
    response = admin.post(f"/c/{a.company.slug}/households/{hid}", headers=HX,
                          data=_valid(a, room="0808", floor_area="120.00", owner_name="新业主"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("<tr") and "新业主" in body and "120.00" in body
    with app.app_context(), company_context(a.company.id):
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.object_id == hid, AuditEvent.action == "household.update")
        ).scalar_one()
        assert event.changes["room"][1] == "0808" and event.changes["floor_area"] == ["88.50", "120.00"]
        assert event.actor_id == a.admin.id


def test_inline_edit_with_bad_input_keeps_the_row_editable(app, a, admin):
    hid = a.roster["households"][1]
    response = admin.post(f"/c/{a.company.slug}/households/{hid}", headers=HX, data=_valid(a, floor_area="0"))
    assert response.status_code == 422
    assert 'class="row-edit' in response.get_data(as_text=True)
    [h] = _households(app, a.company.id, id=hid)
    assert h.floor_area_dm2 == 8850


def test_soft_delete_keeps_the_row_and_undo_restores_it(app, a, admin):
    hid = a.roster["households"][1]
    response = admin.post(f"/c/{a.company.slug}/households/{hid}/delete", headers=HX)
    assert response.status_code == 200 and "restore" in response.get_data(as_text=True)
    [h] = _households(app, a.company.id, id=hid)
    assert h.deleted_at is not None  # still in the database
    listing = admin.get(f"/c/{a.company.slug}/households").get_data(as_text=True)
    assert f"household-{hid}" not in listing
    # The detail page still shows it, with its history.
    detail = admin.get(f"/c/{a.company.slug}/households/{hid}").get_data(as_text=True)
    assert "Household removed" in detail  # its history, in words (tenants/audit/labels.py)
    assert admin.post(f"/c/{a.company.slug}/households/{hid}/restore", headers=HX).status_code == 200
    [h] = _households(app, a.company.id, id=hid)
    assert h.deleted_at is None


def test_deleted_room_number_can_be_reused_and_restore_then_refuses(app, a, admin):
    existing = _households(app, a.company.id)[0]
    admin.post(f"/c/{a.company.slug}/households/{existing.id}/delete")
    data = _valid(a, building_id=str(existing.building_id), unit=existing.unit, room=existing.room)
    assert admin.post(f"/c/{a.company.slug}/households", data=data, headers=HX).status_code == 200
    response = admin.post(f"/c/{a.company.slug}/households/{existing.id}/restore", headers=HX)
    assert response.status_code == 409
    assert "Another household" in response.get_data(as_text=True)


def test_search_matches_room_owner_and_phone(app, a, admin):
    h = _households(app, a.company.id)[2]
    for q in (h.owner_name, h.owner_phone[-6:]):
        body = admin.get(f"/c/{a.company.slug}/households?q={q}", headers={**HX, "HX-Target": "household-results"}).get_data(as_text=True)
        assert f"household-{h.id}" in body
        assert "<html" not in body  # only the results block


def test_filters_and_bad_filter_values(app, a, admin):
    assert admin.get(f"/c/{a.company.slug}/households?community_id=nonsense").status_code == 404
    assert admin.get(f"/c/{a.company.slug}/households?occupancy=nonsense").status_code == 200
    assert admin.get(f"/c/{a.company.slug}/households?page=99999").status_code == 200
    assert admin.get(f"/c/{a.company.slug}/households?page=-3").status_code == 200


def test_household_list_makes_a_fixed_number_of_queries(app, two_companies, make_roster, login_as, count_queries):
    a, _ = two_companies
    client = login_as(a.admin)
    url = f"/c/{a.company.slug}/households"
    with count_queries() as small:
        assert client.get(url).status_code == 200
    make_roster(a.company, communities=3, buildings=4, households=12, prefix="多")
    with count_queries() as large:
        body = client.get(url).get_data(as_text=True)
    assert body.count('id="household-') >= 20
    assert large.count == small.count, large.statements


def test_communities_and_buildings(app, a, admin):
    slug = a.company.slug
    response = admin.post(f"/c/{slug}/communities", data={"name": "  新建小区 ", "address": "北京路 1 号"})
    assert response.status_code == 303
    with app.app_context(), company_context(a.company.id):
        community = db.session.execute(select(Community).where(Community.name == "新建小区")).scalar_one()
    assert admin.post(f"/c/{slug}/communities", data={"name": "新建小区"}, headers=HX).status_code == 422
    assert admin.post(f"/c/{slug}/communities", data={"name": ""}, headers=HX).status_code == 422
    assert admin.post(f"/c/{slug}/communities/{community.id}/buildings", data={"name": "9号楼"}).status_code == 303
    assert admin.post(f"/c/{slug}/communities/{community.id}/buildings", data={"name": "9号楼"},
                      headers=HX).status_code == 422
    page = admin.get(f"/c/{slug}/communities/{community.id}").get_data(as_text=True)
    assert "9号楼" in page
    # A community with buildings cannot be deleted; an empty building can.
    admin.post(f"/c/{slug}/communities/{community.id}/delete")
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(Community, (a.company.id, community.id)).deleted_at is None
        building = db.session.execute(select(Building).where(Building.name == "9号楼")).scalar_one()
    admin.post(f"/c/{slug}/buildings/{building.id}/delete")
    admin.post(f"/c/{slug}/communities/{community.id}/delete")
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(Community, (a.company.id, community.id)).deleted_at is not None
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type.in_(["community", "building"]))).all()
    assert {"community.create", "building.create", "building.delete", "community.delete"} <= set(actions)


def test_building_with_households_cannot_be_deleted(app, a, admin):
    bid = a.roster["buildings"][0]
    admin.post(f"/c/{a.company.slug}/buildings/{bid}/delete")
    with app.app_context(), company_context(a.company.id):
        assert db.session.get(Building, (a.company.id, bid)).deleted_at is None
        assert db.session.scalar(select(func.count()).select_from(Household).where(Household.building_id == bid)) == 2
