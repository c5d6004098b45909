"""The roster's counts (tenants/roster/figures.py): equal to a direct count after every kind of write made through
the normal services and pages, rebuilt exactly, read by the households list and the stewards overview (50 a
page, searchable, by load band), and exact under concurrent writers on PostgreSQL."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import Membership, Role, User
from saas.tenancy import company_context
from tests.conftest import requires_postgres
from tests.factories import next_phone


def _check(app, company_id) -> dict:
    """The stored figures equal a direct count (and are returned, to say something about them)."""
    from tenants.roster import figures

    with app.app_context(), company_context(company_id):
        stored, direct = figures.stored_counts(), figures.direct_counts()
    assert stored == direct
    return stored


def _membership_id(app, company_id, user_id):
    with app.app_context(), company_context(company_id):
        return db.session.execute(select(Membership.id).where(Membership.user_id == user_id)).scalar_one()


@pytest.fixture
def world(two_companies, make_user):
    a, _ = two_companies
    a.wang = make_user("王管家", memberships=[(a.company, Role.STEWARD)])
    return a


def _building_total(stored, building_id) -> int:
    return sum(n for (b, _occ), (n, _w) in stored["buildings"].items() if b == building_id)


def test_figures_equal_a_direct_count_after_every_write(app, world, login_as, uploads):
    from tenants.roster.models import Household

    slug, company_id = world.company.slug, world.company.id
    client = login_as(world.admin)
    buildings, homes = world.roster["buildings"], world.roster["households"]
    stored = _check(app, company_id)
    assert sum(n for n, _ in stored["buildings"].values()) >= len(homes) and stored["stewards"]

    # Add a household (the page's form), then edit it into another building and another occupancy.
    added = client.post(f"/c/{slug}/households", data={
        "building_id": str(buildings[0]), "unit": "9", "room": "901", "floor_area": "90", "occupancy": "occupied"})
    assert added.status_code == 303
    stored = _check(app, company_id)
    with app.app_context(), company_context(company_id):
        new = db.session.execute(select(Household.id).where(Household.room == "901")).scalar_one()
    before = _building_total(stored, buildings[1])
    edited = client.post(f"/c/{slug}/households/{new}", data={
        "building_id": str(buildings[1]), "unit": "9", "room": "901", "floor_area": "90", "occupancy": "vacant"})
    assert edited.status_code == 303
    stored = _check(app, company_id)
    assert _building_total(stored, buildings[1]) == before + 1

    # Steward assignment by hand, handover, unassign; auto-assign apply.
    wang = _membership_id(app, company_id, world.wang.id)
    steward = _membership_id(app, company_id, world.steward.id)
    assert client.post(f"/c/{slug}/stewards/assign", data={
        "steward_id": str(wang), "household_ids": [str(h) for h in homes[:3]]}).status_code in (200, 303)
    stored = _check(app, company_id)
    assert stored["stewards"][wang] == 3
    from tenants.stewards import services

    with app.app_context(), company_context(company_id):
        services.handover(db.session.get(Membership, (company_id, wang)),
                          db.session.get(Membership, (company_id, steward)),
                          actor=db.session.get(User, world.admin.id), household_ids=[homes[0]])
    stored = _check(app, company_id)
    assert stored["stewards"][wang] == 2
    client.post(f"/c/{slug}/stewards/assign", data={"steward_id": "none", "household_ids": [str(homes[1])]})
    _check(app, company_id)
    community = world.roster["communities"][0]
    preview = client.get(f"/c/{slug}/stewards/auto-assign?community_id={community}").get_data(as_text=True)
    digest = re.search(r'name="digest"[^>]*value="([0-9a-f]{64})"', preview).group(1)
    assert client.post(f"/c/{slug}/stewards/auto-assign", data={
        "community_id": str(community), "rebalance": "", "digest": digest}).status_code == 303
    stored = _check(app, company_id)
    assert sum(stored["stewards"].values()) == sum(w for _, w in stored["buildings"].values())

    # Archive a household with a steward (its period ends), restore it (unassigned).
    assert client.post(f"/c/{slug}/households/{homes[2]}/delete").status_code == 303
    _check(app, company_id)
    assert client.post(f"/c/{slug}/households/{homes[2]}/restore").status_code == 303
    _check(app, company_id)

    # A roster import: new households in a new building, and an occupancy change of an existing one.
    header = "小区,楼栋,单元,房号,建筑面积,入住状态,业主姓名,业主电话"
    rows = ["导入小区,1号楼,1,101,80,已入住,张三,13800138001", "导入小区,1号楼,1,102,80,空置,,"]
    upload = client.post(f"/c/{slug}/imports", data={"file": (io.BytesIO(
        "\r\n".join([header, *rows]).encode("utf-8-sig")), "r.csv")}, content_type="multipart/form-data")
    assert upload.status_code == 303, upload.get_data(as_text=True)[-500:]
    assert client.post(f"{upload.headers['Location']}/commit").status_code == 303
    stored = _check(app, company_id)
    assert sum(n for n, _ in stored["buildings"].values()) == len(homes) + 1 + 2


def test_rebuild_equals_a_direct_count_after_writes_that_bypass_the_orm(app, world):
    from saas.tenancy import new_id, utcnow
    from tenants.roster import figures
    from tenants.roster.models import Household, Occupancy

    company_id = world.company.id
    with app.app_context(), company_context(company_id):
        db.session.execute(Household.__table__.insert(), [
            {"company_id": company_id, "id": new_id(), "created_at": utcnow(), "building_id": world.roster[
                "buildings"][0], "unit": "7", "room": f"70{i}", "floor_area_dm2": 100, "occupancy": Occupancy.VACANT,
             "owner_name": "", "owner_phone": ""} for i in range(3)])
        db.session.commit()
        assert figures.stored_counts() != figures.direct_counts()  # bulk SQL is not seen: hence rebuild()
        figures.rebuild()
        db.session.commit()
    _check(app, company_id)


def test_households_search_takes_percent_and_underscore_literally(app, world, login_as):
    client = login_as(world.admin)
    slug = world.company.slug
    everything = client.get(f"/c/{slug}/households").get_data(as_text=True)
    assert "No households match" not in everything
    for q in ("%", "_", "%25"):
        body = client.get(f"/c/{slug}/households", query_string={"q": q}).get_data(as_text=True)
        assert "No households match these filters." in body, q


def test_households_add_form_is_loaded_when_opened(app, world, login_as):
    client = login_as(world.admin)
    slug = world.company.slug
    page = client.get(f"/c/{slug}/households").get_data(as_text=True)
    assert 'id="household-form"' not in page and "add_form=1" in page
    form = client.get(f"/c/{slug}/households?add_form=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="household-form"' in form and "1号楼" in form


def _stewards(app, company, n: int) -> None:
    from saas.tenancy import new_id, utcnow

    with app.app_context(), company_context(company.id):
        for k in range(n):
            user = User(id=new_id(), name=f"批量管家{k:02d}", phone=next_phone(), password_hash="-",
                        created_at=utcnow())
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(user_id=user.id, role=Role.STEWARD))
        db.session.commit()


def test_overview_pages_fifty_stewards_searches_and_filters_by_band(app, world, login_as):
    _stewards(app, world.company, 60)  # 62 stewards with the world's two
    client = login_as(world.admin)
    url = f"/c/{world.company.slug}/stewards"
    first = client.get(url).get_data(as_text=True)
    names = re.findall(r">([^<>]*)</a></td>", first)
    assert len(names) == 50 and "62 in all" in first
    second = client.get(url, query_string={"page": 2}).get_data(as_text=True)
    names_2 = re.findall(r">([^<>]*)</a></td>", second)
    assert len(names_2) == 12 and not set(names) & set(names_2)
    found = client.get(url, query_string={"q": "管家05"}).get_data(as_text=True)
    assert re.findall(r">([^<>]*)</a></td>", found) == ["批量管家05"]
    idle = client.get(url, query_string={"band": "idle"}).get_data(as_text=True)
    assert "批量管家00" in idle and world.steward.name not in re.findall(r">([^<>]*)</a></td>", idle)
    busy = client.get(url, query_string={"band": "room", "sort": "load"}).get_data(as_text=True)
    assert re.findall(r">([^<>]*)</a></td>", busy) == [world.steward.name]
    escaped = client.get(url, query_string={"q": "<script>"}).get_data(as_text=True)
    assert "<script>" not in escaped.split('name="q"')[1][:200]


@requires_postgres
def test_figures_count_after_the_lock(app, world):
    """Two transactions add households to one building at once. The first holds the figures' lock until its
    commit; the second counts only after it gets the lock, so it sees the first's household: both count."""
    import threading

    from tenants.roster.models import Household, Occupancy

    company_id, building_id = world.company.id, world.roster["buildings"][0]
    before = _building_total(_check(app, company_id), building_id)
    locked, release = threading.Event(), threading.Event()
    errors = []

    def add(room: str, hold: bool):
        try:
            with app.app_context(), company_context(company_id):
                db.session.add(Household(building_id=building_id, unit="8", room=room, floor_area_dm2=100,
                                         occupancy=Occupancy.OCCUPIED, owner_name="", owner_phone=""))
                db.session.flush()
                if hold:
                    from tenants.roster import figures

                    touched = db.session.info.pop(figures._TOUCHED)
                    figures.recount(db.session(), touched)  # what COMMIT does, then wait before committing
                    locked.set()
                    release.wait(10)
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    first = threading.Thread(target=add, args=("801", True))
    first.start()
    assert locked.wait(10)
    second = threading.Thread(target=add, args=("802", False))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first's lock
    release.set()
    first.join(10)
    second.join(10)
    assert not errors
    stored = _check(app, company_id)  # the second counted the first's household, and its own
    assert _building_total(stored, building_id) == before + 2


def test_a_broad_search_counts_its_first_matches_only(app, world, login_as, monkeypatch):
    """A search counts its matches up to SEARCH_CAP, walking the buildings in address order (on PostgreSQL a
    LATERAL walk that stops early): over it the list says "more than" and shows the first matches only."""
    from tenants.roster import routes

    client = login_as(world.admin)
    slug = world.company.slug
    names = re.compile(r"A标记业主\d")  # two buildings of two homes: 业主0, 业主1 in each
    monkeypatch.setattr(routes, "SEARCH_CAP", 3)
    body = client.get(f"/c/{slug}/households", query_string={"q": "A标记业主"}).get_data(as_text=True)
    assert "More than 3 in all" in body
    assert names.findall(body) == ["A标记业主0", "A标记业主1", "A标记业主0"]  # address order, the cap's first
    assert not names.findall(client.get(f"/c/{slug}/households", query_string={"q": "A标记业主", "page": 2})
                             .get_data(as_text=True))

    monkeypatch.setattr(routes, "SEARCH_CAP", 4)
    body = client.get(f"/c/{slug}/households", query_string={"q": "A标记业主"}).get_data(as_text=True)
    assert "4 in all" in body and "More than" not in body and len(names.findall(body)) == 4
    # With the building filter: the walk starts at that building only.
    second = world.roster["buildings"][1]
    body = client.get(f"/c/{slug}/households", query_string={"q": "业主1", "building_id": str(second)}
                      ).get_data(as_text=True)
    assert names.findall(body) == ["A标记业主1"] and "1 in all" in body
