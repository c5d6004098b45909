"""Stewards: assigning by hand, handover, auto-assign, leaving the company, the steward's own pages, the owner's
view of their steward. The planner itself is tested in test_steward_planner.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.models import Role
from tests.conftest import ON_POSTGRES, requires_postgres
from tests.world.stewards import png_bytes


def _membership(app, company_id, user_id):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context

    with app.app_context(), company_context(company_id):
        m = db.session.execute(select(Membership).where(Membership.user_id == user_id)).scalar_one()
        db.session.expunge(m)
        return m


def _current(app, company_id) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.stewards.models import StewardAssignment

    with app.app_context(), company_context(company_id):
        return dict(db.session.execute(
            select(StewardAssignment.household_id, StewardAssignment.steward_id)
            .where(StewardAssignment.ended_at.is_(None))).all())


def _periods(app, company_id, household_id) -> list:
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.stewards.models import StewardAssignment

    with app.app_context(), company_context(company_id):
        rows = db.session.execute(
            select(StewardAssignment).where(StewardAssignment.household_id == household_id)
            .order_by(StewardAssignment.started_at, StewardAssignment.created_at)).scalars().all()
        return [(p.steward_id, p.start_reason.value, p.ended_at is not None,
                 p.end_reason.value if p.end_reason else None, p.started_by_id, p.ended_by_id) for p in rows]


def _outbox(app, company_id, kind="steward_changed") -> list:
    from saas.extensions import db
    from saas.notifications.models import OutboxMessage
    from saas.tenancy import company_context

    with app.app_context(), company_context(company_id):
        return [(m.recipient, m.body) for m in db.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == kind)).scalars()]


@pytest.fixture
def world(two_companies, make_user):
    """Company A with two more stewards (王管家, 李管家) beside the world's steward."""
    a, _ = two_companies
    a.wang = make_user("王管家", memberships=[(a.company, Role.STEWARD)])
    a.li = make_user("李管家", memberships=[(a.company, Role.STEWARD)])
    return a


def _ids(app, world):
    return {name: _membership(app, world.company.id, getattr(world, name).id).id
            for name in ("steward", "wang", "li")}


# --- assigning by hand --------------------------------------------------------------------------------------


def test_admin_assigns_households_by_hand_and_the_counts_update_in_place(app, world, login_as):
    ids = _ids(app, world)
    client = login_as(world.admin)
    building = world.roster["buildings"][1]
    homes = world.roster["households"][2:4]  # the second building's two homes
    page = client.get(f"/c/{world.company.slug}/stewards/assign?building_id={building}")
    assert page.status_code == 200 and "0101" in page.get_data(as_text=True)
    response = client.post(f"/c/{world.company.slug}/stewards/assign?building_id={building}",
                           data={"steward_id": str(ids["wang"]), "household_ids": [str(h) for h in homes]},
                           headers={"HX-Request": "true", "HX-Target": "assign-households"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="steward-counts"' in body and 'hx-swap-oob="true"' in body  # the counts, swapped out of band
    assert "王管家" in body and "2/50" in body
    current = _current(app, world.company.id)
    assert all(current[h] == ids["wang"] for h in homes)
    # Reassigning ends the old period and starts a new one: the history keeps both, with who and why.
    client.post(f"/c/{world.company.slug}/stewards/assign?building_id={building}",
                data={"steward_id": str(ids["li"]), "household_ids": [str(homes[0])]})
    periods = _periods(app, world.company.id, homes[0])
    assert [(p[0], p[1], p[2], p[3]) for p in periods] == [(ids["wang"], "manual", True, "manual"),
                                                           (ids["li"], "manual", False, None)]
    assert periods[0][5] == world.admin.id  # ended by the admin
    history = client.get(f"/c/{world.company.slug}/households/{homes[0]}").get_data(as_text=True)
    assert "王管家" in history and "李管家" in history


def test_assigning_with_nothing_ticked_or_a_stranger_as_steward_changes_nothing(app, world, login_as):
    ids = _ids(app, world)
    client = login_as(world.admin)
    before = _current(app, world.company.id)
    building = world.roster["buildings"][1]
    url = f"/c/{world.company.slug}/stewards/assign?building_id={building}"
    empty = client.post(url, data={"steward_id": str(ids["wang"])})
    assert empty.status_code == 422 and "Pick at least one household" in empty.get_data(as_text=True)
    technician = _membership(app, world.company.id, world.technician.id).id
    stranger = client.post(url, data={"steward_id": str(technician),
                                      "household_ids": [str(world.roster["households"][2])]})
    assert stranger.status_code == 422
    assert _current(app, world.company.id) == before


def test_unassigning_leaves_the_household_without_a_steward(app, world, login_as):
    client = login_as(world.admin)
    home = world.roster["households"][0]
    client.post(f"/c/{world.company.slug}/stewards/assign", data={"steward_id": "none", "household_ids": [str(home)]})
    assert home not in _current(app, world.company.id)
    overview = client.get(f"/c/{world.company.slug}/stewards").get_data(as_text=True)
    assert "4 households in this view have no steward" in overview


def test_floor_range_narrows_the_households_to_pick(app, world, make_roster, login_as):
    from tenants.stewards.queries import floor_of

    assert (floor_of("1201"), floor_of("302"), floor_of("B1"), floor_of("12")) == (12, 3, None, None)
    client = login_as(world.admin)
    building = world.roster["buildings"][0]  # rooms 0101 and 0201
    body = client.get(f"/c/{world.company.slug}/stewards/assign?building_id={building}&floor_from=2&floor_to=9"
                      ).get_data(as_text=True)
    assert "0201" in body and "0101" not in body


def test_the_database_refuses_a_second_current_steward_for_a_household(app, world):
    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.stewards.models import AssignmentReason, StewardAssignment

    ids = _ids(app, world)
    home = world.roster["households"][0]  # the world's steward already looks after it
    with app.app_context(), company_context(world.company.id):
        db.session.add(StewardAssignment(household_id=home, steward_id=ids["wang"], started_at=utcnow(),
                                         start_reason=AssignmentReason.MANUAL))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


@requires_postgres
def test_two_admins_assigning_the_same_households_at_once_end_consistent(app, world):
    """Admin 1 holds the households' row locks mid-transaction; admin 2's assignment waits for them, then sees
    admin 1's periods and ends them. Never two current stewards; the last one to commit wins."""
    import threading

    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.stewards import services
    from tenants.stewards.models import AssignmentReason

    ids = _ids(app, world)
    homes = world.roster["households"]
    first_locked, release_first = threading.Event(), threading.Event()
    errors = []

    def admin_one():
        try:
            with app.app_context(), company_context(world.company.id):
                actor = db.session.get(User, world.admin.id)
                services._reassign(dict.fromkeys(homes, ids["wang"]), reason=AssignmentReason.MANUAL, actor=actor)
                first_locked.set()
                release_first.wait(10)
                db.session.commit()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    def admin_two():
        try:
            first_locked.wait(10)
            with app.app_context(), company_context(world.company.id):
                actor = db.session.get(User, world.admin.id)
                steward = services.get_steward_or_none(ids["li"])
                services.assign(homes, steward, actor=actor)
        except Exception as exc:
            errors.append(exc)

    one, two = threading.Thread(target=admin_one), threading.Thread(target=admin_two)
    one.start()
    two.start()
    first_locked.wait(10)
    two.join(1.0)
    assert two.is_alive(), "admin two must wait for admin one's row locks"
    release_first.set()
    one.join(10)
    two.join(10)
    assert not errors, errors
    current = _current(app, world.company.id)
    assert {current[h] for h in homes} == {ids["li"]}
    for home in homes:
        periods = _periods(app, world.company.id, home)
        assert sum(1 for p in periods if not p[2]) == 1
        assert any(p[0] == ids["wang"] and p[2] for p in periods)  # admin one's period, ended by admin two


@requires_postgres
def test_the_index_alone_stops_two_current_periods_across_connections(app, world, db_urls):
    """Two raw connections (the app role, RLS on) insert a current period for the same household: the second
    waits for the first, then fails on the partial unique index."""
    import threading
    import uuid

    from sqlalchemy import create_engine, text

    ids = _ids(app, world)
    home = world.roster["households"][2]
    engine = create_engine(db_urls["app"])
    sql = text("INSERT INTO steward_assignments (company_id, id, household_id, steward_id, started_at, start_reason,"
               " note, end_note, created_at) VALUES (:c, :id, :h, :s, now(), 'manual', '', '', now())")
    results = []

    def insert(steward_id, hold: threading.Event | None, done: threading.Event):
        with engine.connect() as conn:
            conn.execute(text("SELECT set_config('app.company_id', :c, true)"), {"c": str(world.company.id)})
            try:
                conn.execute(sql, {"c": world.company.id, "id": uuid.uuid4(), "h": home, "s": steward_id})
                done.set()
                if hold:
                    hold.wait(10)
                conn.commit()
                results.append("ok")
            except IntegrityError:
                results.append("refused")
                conn.rollback()

    hold, first_done, second_done = threading.Event(), threading.Event(), threading.Event()
    first = threading.Thread(target=insert, args=(ids["wang"], hold, first_done))
    second = threading.Thread(target=insert, args=(ids["li"], None, second_done))
    first.start()
    first_done.wait(10)
    second.start()
    assert not second_done.wait(1.0)  # blocked on the first's uncommitted row
    hold.set()
    first.join(10)
    second.join(10)
    engine.dispose()
    assert sorted(results) == ["ok", "refused"]
    assert _current(app, world.company.id)[home] == ids["wang"]


# --- handover ------------------------------------------------------------------------------------------------


def test_handover_asks_first_then_moves_and_tells_each_owner_the_new_stewards_name(app, world, login_as):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Household

    ids = _ids(app, world)
    client = login_as(world.admin)
    slug = world.company.slug
    homes = world.roster["households"]
    client.post(f"/c/{slug}/stewards/assign", data={"steward_id": str(ids["wang"]),
                                                   "household_ids": [str(h) for h in homes[:3]]})
    before = _current(app, world.company.id)
    review = client.post(f"/c/{slug}/stewards/{ids['wang']}/handover",
                         data={"to_steward_id": str(ids["li"]), "note": "休产假",
                               "household_ids": [str(h) for h in homes[:2]]})
    assert review.status_code == 200 and "李管家" in review.get_data(as_text=True)
    assert _current(app, world.company.id) == before  # nothing moved before the confirmation
    done = client.post(f"/c/{slug}/stewards/{ids['wang']}/handover",
                       data={"to_steward_id": str(ids["li"]), "note": "休产假", "confirm": "1",
                             "household_ids": [str(h) for h in homes[:2]]})
    assert done.status_code == 303
    current = _current(app, world.company.id)
    assert current[homes[0]] == current[homes[1]] == ids["li"] and current[homes[2]] == ids["wang"]
    assert [p[1] for p in _periods(app, world.company.id, homes[0])][-1] == "handover"
    with app.app_context(), company_context(world.company.id):
        phones = {h.id: h.owner_phone for h in db.session.execute(select(Household)).scalars()}
    messages = _outbox(app, world.company.id)
    # Home 0 also has a joined owner account: their account phone is told as well as the roster phone.
    assert {phones[homes[0]], phones[homes[1]], world.owner.phone} <= {r for r, _ in messages}
    assert all("李管家" in body for _, body in messages)


def test_notifying_twice_queues_each_message_once(app, world):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.stewards import services

    ids = _ids(app, world)
    homes = world.roster["households"][2:]
    with app.app_context(), company_context(world.company.id):
        actor = db.session.get(User, world.admin.id)
        result = services.assign(homes, services.get_steward_or_none(ids["li"]), actor=actor, notify=True)
        assert services.notify_owners_of_new_steward(result.new_periods) == 0  # the first run already sent them
    assert len(_outbox(app, world.company.id)) == 2


def test_handover_to_the_same_steward_is_refused(app, world, login_as):
    ids = _ids(app, world)
    response = login_as(world.admin).post(
        f"/c/{world.company.slug}/stewards/{ids['steward']}/handover",
        data={"to_steward_id": str(ids["steward"]), "confirm": "1",
              "household_ids": [str(world.roster["households"][0])]})
    assert response.status_code == 422


# --- leaving -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["end", "role"])
def test_a_steward_who_leaves_leaves_their_households_visibly_unassigned(app, world, login_as, how):
    ids = _ids(app, world)
    client = login_as(world.admin)
    slug = world.company.slug
    home = world.roster["households"][0]
    assert _current(app, world.company.id)[home] == ids["steward"]
    if how == "end":
        assert client.post(f"/c/{slug}/members/{ids['steward']}/end").status_code == 303
    else:
        assert client.post(f"/c/{slug}/members/{ids['steward']}/role", data={"role": "technician"}).status_code == 303
    assert home not in _current(app, world.company.id)
    assert _periods(app, world.company.id, home)[-1][3] == "membership_ended"
    overview = client.get(f"/c/{slug}/stewards").get_data(as_text=True)
    assert "4 households in this view have no steward" in overview
    portal = login_as(world.owner).get(f"/c/{slug}/my").get_data(as_text=True)
    assert "No steward is assigned to your home right now" in portal


def test_deleting_a_household_ends_its_stewards_period(app, world, login_as):
    home = world.roster["households"][0]
    login_as(world.admin).post(f"/c/{world.company.slug}/households/{home}/delete")
    assert home not in _current(app, world.company.id)
    assert _periods(app, world.company.id, home)[-1][3] == "household_deleted"


# --- auto-assign ---------------------------------------------------------------------------------------------


def test_auto_assign_previews_then_applies_on_confirm(app, world, login_as):
    import re

    client = login_as(world.admin)
    slug = world.company.slug
    community = world.roster["communities"][0]
    preview = client.get(f"/c/{slug}/stewards/auto-assign?community_id={community}")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "3 of them change steward" in body
    assert len(_current(app, world.company.id)) == 1  # a preview changes nothing
    digest = re.search(r'name="digest"[^>]*value="([0-9a-f]{64})"', body).group(1)
    applied = client.post(f"/c/{slug}/stewards/auto-assign",
                          data={"community_id": str(community), "rebalance": "", "digest": digest})
    assert applied.status_code == 303
    current = _current(app, world.company.id)
    assert set(current) == set(world.roster["households"])
    # Each building's homes (one unit each) went to one steward.
    b1, b2 = world.roster["households"][:2], world.roster["households"][2:]
    assert len({current[h] for h in b1}) == 1 and len({current[h] for h in b2}) == 1
    again = client.get(f"/c/{slug}/stewards/auto-assign?community_id={community}").get_data(as_text=True)
    assert "Nothing to change" in again


def test_auto_assign_refuses_a_proposal_that_went_stale(app, world, login_as):
    import re

    ids = _ids(app, world)
    client = login_as(world.admin)
    slug = world.company.slug
    community = world.roster["communities"][0]
    body = client.get(f"/c/{slug}/stewards/auto-assign?community_id={community}").get_data(as_text=True)
    digest = re.search(r'name="digest"[^>]*value="([0-9a-f]{64})"', body).group(1)
    # Someone else assigns meanwhile: the plan the admin saw is no longer the plan.
    client.post(f"/c/{slug}/stewards/assign", data={"steward_id": str(ids["li"]),
                                                   "household_ids": [str(world.roster["households"][3])]})
    before = _current(app, world.company.id)
    response = client.post(f"/c/{slug}/stewards/auto-assign",
                           data={"community_id": str(community), "rebalance": "", "digest": digest})
    assert response.status_code == 303
    assert _current(app, world.company.id) == before
    assert "Assignments changed since this proposal" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_auto_assign_says_how_many_stewards_are_missing(app, world, login_as):
    client = login_as(world.admin)
    client.post(f"/c/{world.company.slug}/stewards/capacity", data={"capacity": "1"})
    body = client.get(f"/c/{world.company.slug}/stewards/auto-assign?community_id={world.roster['communities'][0]}"
                      ).get_data(as_text=True)
    assert "1 more stewards are needed" in body  # 4 homes, 3 stewards of capacity 1


# --- the stewards page ---------------------------------------------------------------------------------------


def test_overview_shows_loads_against_capacity_and_overloads(app, world, login_as):
    ids = _ids(app, world)
    client = login_as(world.admin)
    slug = world.company.slug
    assert client.post(f"/c/{slug}/stewards/capacity", data={"capacity": "0"}).status_code == 422
    assert client.post(f"/c/{slug}/stewards/capacity", data={"capacity": "2"}).status_code == 303
    client.post(f"/c/{slug}/stewards/assign", data={"steward_id": str(ids["wang"]),
                                                   "household_ids": [str(h) for h in world.roster["households"]]})
    body = client.get(f"/c/{slug}/stewards").get_data(as_text=True)
    assert "王管家 has 4 households, over their capacity of 2." in body and "<svg" in body
    # A steward's own capacity overrides the company's.
    response = client.post(f"/c/{slug}/stewards/{ids['wang']}/profile",
                           data={"capacity": "10", "work_phone": "", "working_hours": ""})
    assert response.status_code == 303
    assert "over their capacity" not in client.get(f"/c/{slug}/stewards").get_data(as_text=True)
    filtered = client.get(f"/c/{slug}/stewards?building_id={world.roster['buildings'][0]}",
                          headers={"HX-Request": "true", "HX-Target": "steward-overview"})
    assert filtered.status_code == 200 and "<html" not in filtered.get_data(as_text=True)
    whole = client.get(f"/c/{slug}/stewards?building_id={world.roster['buildings'][0]}").get_data(as_text=True)
    assert f'<option value="{world.roster["buildings"][0]}" selected>' in whole  # the filter keeps its choice


def test_overview_building_filter_follows_the_chosen_community(app, world, make_roster, login_as):
    """Only the chosen community's buildings are offered (none before one is chosen); an htmx answer brings the
    select out of band, since the filter form is not redrawn; a building of another community is dropped."""
    client = login_as(world.admin)
    slug = world.company.slug
    other = make_roster(world.company, communities=2, buildings=2, households=1, prefix="东")
    (east1, east2), (b1, b2, b3, b4) = other["communities"], other["buildings"]  # b1, b2 in east1; b3, b4 in east2

    def building_select(body: str) -> str:
        start = body.index('id="building-filter"')
        return body[start:body.index("</select>", start)]

    whole = client.get(f"/c/{slug}/stewards").get_data(as_text=True)
    assert f'<option value="{east1}" >' in whole and f'<option value="{east2}" >' in whole
    assert "disabled" in building_select(whole) and "<option value=\"" not in building_select(whole).replace(
        '<option value="">', "")

    chosen = building_select(client.get(f"/c/{slug}/stewards?community_id={east2}").get_data(as_text=True))
    assert str(b3) in chosen and str(b4) in chosen and str(b1) not in chosen and "disabled" not in chosen

    # A building alone implies its community, which is then selected, with its sibling offered.
    body = client.get(f"/c/{slug}/stewards?building_id={b2}").get_data(as_text=True)
    assert f'<option value="{east1}" selected>' in body
    assert f'<option value="{b2}" selected>' in building_select(body) and str(b1) in building_select(body)

    # The community changed while the old building was still in the form: the overview is the new community's.
    fragment = client.get(f"/c/{slug}/stewards?community_id={east2}&building_id={b1}",
                          headers={"HX-Request": "true", "HX-Target": "steward-overview"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-swap-oob="true"' in fragment
    assert str(b3) in building_select(fragment) and str(b1) not in building_select(fragment)
    assert " selected" not in building_select(fragment)
    # A whole page never carries the out-of-band copy, an htmx request for another target included.
    assert 'hx-swap-oob' not in client.get(f"/c/{slug}/stewards?community_id={east2}").get_data(as_text=True)
    other_target = client.get(f"/c/{slug}/stewards?community_id={east2}",
                              headers={"HX-Request": "true", "HX-Target": "main"}).get_data(as_text=True)
    assert "<html" in other_target and "hx-swap-oob" not in other_target


def test_overview_and_steward_home_make_a_fixed_number_of_queries(app, world, make_user, make_roster, login_as,
                                                                 count_queries):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.stewards import services

    admin = login_as(world.admin)
    steward = login_as(world.steward)
    slug = world.company.slug
    urls = [(admin, f"/c/{slug}/stewards"), (admin, f"/c/{slug}/stewards?community_id={world.roster['communities'][0]}"),
            (admin, f"/c/{slug}/stewards/assign?building_id={world.roster['buildings'][0]}"),
            (steward, f"/c/{slug}/steward")]

    def counts():
        out = []
        for client, url in urls:
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            out.append(len(counter.statements))
        return out

    small = counts()
    more = make_roster(world.company, communities=2, buildings=3, households=8, prefix="多")
    for i in range(6):
        make_user(f"管家{i}", memberships=[(world.company, Role.STEWARD)])
    steward_id = _membership(app, world.company.id, world.steward.id).id
    with app.app_context(), company_context(world.company.id):
        actor = db.session.get(User, world.admin.id)
        services.assign(more["households"][:30], services.get_steward_or_none(steward_id), actor=actor)
    assert counts() == small


# --- the steward's day ---------------------------------------------------------------------------------------


def test_steward_logs_contacts_and_sees_their_kpis(app, world, login_as):
    from saas.clock import local_today

    client = login_as(world.steward)
    slug = world.company.slug
    home = world.roster["households"][0]
    page = client.get(f"/c/{slug}/steward")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "never contacted" in body
    today = local_today()
    url = f"/c/{slug}/steward/households/{home}/contacts"
    assert client.post(url, data={"kind": "visit", "contacted_on": (today + timedelta(days=1)).isoformat(),
                                  "note": "上门"}).status_code == 422
    assert client.post(url, data={"kind": "fax", "contacted_on": today.isoformat(), "note": "x"}).status_code == 422
    assert client.post(url, data={"kind": "call", "contacted_on": today.isoformat(), "note": " "}).status_code == 422
    assert client.post(url, data={"kind": "visit", "contacted_on": today.isoformat(),
                                  "note": "上门查看漏水，已报修"}).status_code == 303
    detail = client.get(f"/c/{slug}/steward/households/{home}").get_data(as_text=True)
    assert "上门查看漏水，已报修" in detail
    from tenants.stewards.queries import kpis

    with app.app_context():
        from saas.tenancy import company_context

        with company_context(world.company.id):
            k = kpis(_membership(app, world.company.id, world.steward.id).id, today)
    assert (k.covered, k.contacts_this_month, k.not_contacted) == (1, 1, 0)
    # The admin sees the contact on the household's page.
    assert "上门查看漏水，已报修" in login_as(world.admin).get(f"/c/{slug}/households/{home}").get_data(as_text=True)


def test_not_contacted_counts_households_without_a_contact_in_90_days(app, world):
    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import Membership, User
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.stewards import services
    from tenants.stewards.queries import kpis

    ids = _ids(app, world)
    today = local_today()
    with app.app_context(), company_context(world.company.id):
        actor = db.session.get(User, world.admin.id)
        steward = db.session.get(Membership, (world.company.id, ids["steward"]))
        services.assign(world.roster["households"][:3], steward, actor=actor)
        old, recent = (db.session.execute(select(Household).where(Household.id == h)).scalar_one()
                       for h in world.roster["households"][:2])
        steward_user = db.session.get(User, world.steward.id)
        services.log_contact(old, steward, kind="call", contacted_on=today - timedelta(days=120), note="旧",
                             actor=steward_user, today=today)
        services.log_contact(recent, steward, kind="wechat", contacted_on=today - timedelta(days=3), note="近",
                             actor=steward_user, today=today)
        k = kpis(steward.id, today)
    assert k.covered == 3 and k.not_contacted == 2


def test_a_stewards_homes_read_as_rows_are_labelled_as_the_households_are(app, world):
    """households_of reads columns, not Household objects: its labels, grouping and last contacts must be what
    the model's properties give."""
    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import Membership, User
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.stewards import services
    from tenants.stewards.queries import group_by_building, households_of

    ids = _ids(app, world)
    today = local_today()
    with app.app_context(), company_context(world.company.id):
        actor = db.session.get(User, world.admin.id)
        steward = db.session.get(Membership, (world.company.id, ids["steward"]))
        homes = world.roster["households"]
        services.assign(homes, steward, actor=actor)
        first = db.session.execute(select(Household).where(Household.id == homes[0])).scalar_one()
        services.log_contact(first, steward, kind="call", contacted_on=today - timedelta(days=2), note="到访",
                             actor=db.session.get(User, world.steward.id), today=today)
        rows = households_of(steward.id)
        assert {row.id for row, _ in rows} == set(homes)
        for row, last in rows:
            household = db.session.execute(select(Household).where(Household.id == row.id)).scalar_one()
            assert (row.room_label, row.label, row.owner_name, row.owner_phone) == (
                household.room_label, household.label, household.owner_name, household.owner_phone)
            assert row.building.label == household.building.label and row.building.id == household.building_id
            assert last == (today - timedelta(days=2) if row.id == homes[0] else None)
        groups = group_by_building(rows)
        assert len(groups) == len({h.building.id for h, _ in rows})
        assert first.id in {r.id for r, _ in households_of(steward.id, q=first.room)}
        assert households_of(steward.id, q="没有这样的住户") == []


def test_steward_sets_photo_and_hours_and_the_owner_sees_them(app, world, login_as):
    from PIL import Image

    client = login_as(world.steward)
    slug = world.company.slug
    # A JPEG carrying EXIF (a camera model): the stored copy keeps none of it.
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 9"
    raw = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 60)).save(raw, format="JPEG", exif=exif)
    response = client.post(f"/c/{slug}/steward/profile", data={
        "work_phone": "0571-8123 4567", "working_hours": "周一至周六 8:30–17:30",
        "photo": (io.BytesIO(raw.getvalue()), "me.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 303
    member_id = _membership(app, world.company.id, world.steward.id).id
    photo = client.get(f"/c/{slug}/stewards/{member_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    stored = Image.open(io.BytesIO(photo.data))
    assert max(stored.size) <= 320 and b"SecretCam" not in photo.data and not stored.getexif()
    portal = login_as(world.owner).get(f"/c/{slug}/my").get_data(as_text=True)
    assert world.steward.name in portal and "0571-8123 4567" in portal and "周一至周六 8:30–17:30" in portal
    assert f"/stewards/{member_id}/photo" in portal


def test_a_bad_photo_changes_nothing(app, world, login_as):
    client = login_as(world.steward)
    slug = world.company.slug
    response = client.post(f"/c/{slug}/steward/profile", data={
        "work_phone": "0571-0000 0000", "working_hours": "全天",
        "photo": (io.BytesIO(b"%PDF-1.4 not an image"), "me.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "not an image" in response.get_data(as_text=True)
    portal = login_as(world.owner).get(f"/c/{slug}/my").get_data(as_text=True)
    assert "0571-8888 6666" in portal and "0571-0000 0000" not in portal  # the world's details, unchanged
    assert png_bytes()  # the helper used by the world builder produces a real image


def test_technicians_see_nothing_of_the_stewards_pages(app, world, login_as):
    client = login_as(world.technician)
    slug = world.company.slug
    for url in ("/stewards", "/stewards/assign", "/steward", f"/steward/households/{world.roster['households'][0]}"):
        assert client.get(f"/c/{slug}{url}").status_code == 403


@pytest.mark.skipif(ON_POSTGRES, reason="same check on both databases; once is enough")
def test_stewards_home_is_where_a_steward_lands(app, world, login_as):
    response = login_as(world.steward).get(f"/c/{world.company.slug}/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/steward")


# --- the steward's household page: the home's open repairs, and whether its owner has joined ------------------


def _home_jobs(app, world) -> dict:
    """The world's open job in its household, plus one cancelled there (not open: not listed)."""
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context
    from tenants.roster.models import Household
    from tenants.work_orders import services
    from tenants.work_orders.models import Area, Source, WorkOrder, WorkOrderCategory

    with app.app_context(), company_context(world.company.id):
        order = db.session.get(WorkOrder, (world.company.id, world.ids["order_id"]))
        category = db.session.execute(select(WorkOrderCategory).where(WorkOrderCategory.name == "电梯")).scalar_one()
        household = db.session.get(Household, (world.company.id, world.owner_household_id))
        admin = db.session.execute(select(Membership).where(Membership.user_id == world.admin.id)).scalar_one()
        cancelled = services.create_order(services.Report(source=Source.PHONE, area=Area.HOME, category_id=category.id,
                                                          household=household, description="门禁坏了"),
                                          actor=admin.user, membership=admin)
        services.perform(cancelled, "cancel", actor=admin.user, membership=admin, note="重复")
        return {"open": (order.id, order.number), "cancelled": cancelled.number}


def test_the_household_page_shows_the_homes_open_repairs_with_status_and_time_left(app, world, login_as):
    jobs = _home_jobs(app, world)
    slug = world.company.slug
    page = login_as(world.steward).get(f"/c/{slug}/steward/households/{world.owner_household_id}")
    repairs = page.get_data(as_text=True).split('id="household-repairs"')[1].split("</section>")[0]
    order_id, number = jobs["open"]
    assert number in repairs and f"/c/{slug}/work-orders/{order_id}" in repairs
    assert "水暖" in repairs and "Assigned" in repairs and "wo-sla" in repairs and "to accept" in repairs
    assert jobs["cancelled"] not in repairs


def test_the_household_page_says_whether_the_owner_has_joined(app, world, login_as):
    from saas.clock import local_today

    ids = _ids(app, world)
    slug = world.company.slug
    other = world.roster["households"][1]
    login_as(world.admin).post(f"/c/{slug}/stewards/assign", data={"steward_id": str(ids["steward"]),
                                                                   "household_ids": [str(other)]})
    client = login_as(world.steward)
    joined = client.get(f"/c/{slug}/steward/households/{world.owner_household_id}").get_data(as_text=True)
    owner = joined.split('id="owner-account"')[1].split("</dd>")[0]
    assert "Joined" in owner and world.owner.name in owner and local_today().isoformat() in owner
    not_joined = client.get(f"/c/{slug}/steward/households/{other}").get_data(as_text=True)
    owner = not_joined.split('id="owner-account"')[1].split("</dd>")[0]
    assert "Not joined" in owner and f"/join/{slug}" in owner and "household code" in owner
    assert "No open repairs." in not_joined


def test_the_steward_homes_drawn_in_python_escape_and_flag_as_the_template_did():
    import uuid
    from datetime import date

    from markupsafe import Markup

    from tenants.stewards.home_rows import ROW_ID, home_rows
    from tenants.stewards.queries import BuildingRow, HomeRow

    building = BuildingRow(uuid.uuid4(), "园 1栋")
    quiet, fresh, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    labels = {"unknown": "Owner unknown", "never": "never contacted", "over_90": "over 90 days",
              "past_due": "Past due", "call": "Call", "last": Markup("last contact %(date)s"),
              "call_name": "Call %(name)s"}
    rows = [(HomeRow(quiet, "1栋 101", "园 1栋 101", "<王>", "13800000000", building), date(2026, 1, 2)),
            (HomeRow(fresh, "1栋 102", "园 1栋 102", "李&张", None, building), date(2026, 11, 30)),
            (HomeRow(unknown, "1栋 103", "园 1栋 103", None, "13900000000", building), None)]
    html = home_rows(rows, today=date(2026, 12, 5), owed={quiet: 12345}, home_url=f"/h/{ROW_ID}",
                     ledger_url=f"/l/{ROW_ID}", labels=labels)
    assert isinstance(html, Markup) and html.count("<li ") == 3 and "<王>" not in html
    first, second, third = html.split("</li>")[:3]
    assert f'href="/h/{quiet}"' in first and "&lt;王&gt; · " in first
    assert "last contact 2026-01-02</span> <span class=\"badge text-bg-warning\">over 90 days" in first
    assert f'href="/l/{quiet}" title="Past due">¥123.45</a>' in first
    assert 'href="tel:13800000000" aria-label="Call &lt;王&gt;">Call</a>' in first
    assert "李&amp;张 · " in second and "over 90 days" not in second and "tel:" not in second and "¥" not in second
    assert "Owner unknown · " in third and "never contacted" in third and 'aria-label="Call 1栋 103"' in third
