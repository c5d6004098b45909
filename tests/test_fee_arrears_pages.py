"""The arrears pages after issue 14's speed work: the scope's totals are the sum of its groups (no statement of their
own), the groups' read checks that the figures count for the day, the households' page statement is built once per
shape and gives the same rows in every order, and a long list of buildings is a compact table that a phone folds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from saas.extensions import db
from saas.tenancy import company_context
from tests.test_fee_arrears import _clear_world_bills, make_bill

pytestmark = pytest.mark.world("fees_bills")


@pytest.fixture
def a(two_companies):
    return two_companies[0]


def test_groups_sum_to_the_scopes_totals_and_check_the_day(app, a):
    from tenants.fees import arrears, figures
    from tenants.fees.models import FeeArrearsState

    _clear_world_bills(app, a)
    today = date.today()
    h1, h2, h3 = a.roster["households"][:3]
    with app.app_context(), company_context(a.company.id):
        make_bill(h1, amount=10000, due_on=today - timedelta(days=30))  # up to 30 days today, 31–90 tomorrow
        make_bill(h2, amount=5000, due_on=today)  # due today: past due tomorrow
        make_bill(h3, amount=7000, due_on=date(2020, 1, 1))  # flagged
        db.session.commit()
        figures.ensure_fresh(today)
        with app.test_request_context():
            for community_id in (None, a.roster["communities"][0]):
                groups = arrears.by_group(today, community_id=community_id)
                assert arrears.sum_totals([g.totals for g in groups]) == arrears.scope_totals(
                    today, community_id=community_id) == arrears.direct_scope_totals(today, community_id=community_id)
            # A community's row per building is that building's totals (the page takes a chosen building's there).
            for group in arrears.by_group(today, community_id=a.roster["communities"][0]):
                assert group.totals == arrears.scope_totals(today, building_id=group.id) \
                    == arrears.direct_scope_totals(today, building_id=group.id)
        assert arrears.sum_totals([]) == arrears.Totals()
        tomorrow = today + timedelta(days=1)
        with app.test_request_context():  # a new day's first read recounts, then reads again
            totals = arrears.sum_totals([g.totals for g in arrears.by_group(tomorrow)])
            assert db.session.get(FeeArrearsState, a.company.id).as_of == tomorrow
            assert totals == arrears.direct_scope_totals(tomorrow)
            assert (totals.d30, totals.d90, totals.households, totals.flagged) == (5000, 10000, 3, 1)
        db.session.remove()


def test_every_order_and_page_reads_the_same_rows_as_a_plain_sort(app, a, make_roster):
    """The edge (owed, oldest) and the plain order (room, deep pages) both page through exactly the sorted rows."""
    from tenants.fees import arrears

    _clear_world_bills(app, a)
    today = date.today()
    more = make_roster(a.company, communities=2, buildings=2, households=4, prefix="序")
    homes = more["households"]
    with app.app_context(), company_context(a.company.id):
        for i, household_id in enumerate(homes):
            make_bill(household_id, amount=1000 * (i % 3 + 1), due_on=today - timedelta(days=40 * (i % 4 + 1)))
        db.session.commit()
        expected = {}
        with app.test_request_context("/"):
            every = arrears.households(today, per_page=100).items
            assert len(every) == len(homes)
            expected["owed"] = sorted(every, key=lambda r: (-r.totals.total, r.community, r.building, r.unit, r.room))
            expected["oldest"] = sorted(every, key=lambda r: (r.oldest_due, r.community, r.building, r.unit, r.room))
            expected["room"] = sorted(every, key=lambda r: (r.community, r.building, r.unit, r.room))
        for sort, rows in expected.items():
            paged = []
            for number in (1, 2, 3, 4):
                with app.test_request_context(f"/?page={number}"):
                    paged += arrears.households(today, sort=sort, per_page=5).items
            assert [r.id for r in paged] == [r.id for r in rows], sort
        community = more["communities"][0]
        with app.test_request_context("/?page=2"):
            page = arrears.households(today, community_id=community, sort="oldest", per_page=3)
        assert page.total == 8 and len(page.items) == 3 and {r.community for r in page.items} == {"序小区1"}
        db.session.remove()


def test_a_long_list_of_buildings_is_a_compact_table_a_phone_folds(app, a, login_as, make_roster):
    _clear_world_bills(app, a)
    today = date.today()
    few = make_roster(a.company, communities=1, buildings=2, households=1, prefix="少")
    many = make_roster(a.company, communities=1, buildings=9, households=1, prefix="多")
    with app.app_context(), company_context(a.company.id):
        for household_id in few["households"] + many["households"]:
            make_bill(household_id, amount=12345, due_on=today - timedelta(days=40))
        db.session.commit()
    admin = login_as(a.admin)
    admin.get("/lang/zh_CN")
    slug = a.company.slug

    def groups_of(community_id):
        body = admin.get(f"/c/{slug}/fees/arrears?community_id={community_id}").get_data(as_text=True)
        return body.split('id="homes"')[0].split("<h2")[-2], body  # the groups' heading up to the homes'

    part, body = groups_of(many["communities"][0])
    assert 'data-bs-target="#arrears-groups"' in part and "查看 9 栋楼的欠费" in part
    assert 'class="collapse d-md-block"' in part and "table-stack" not in part
    assert part.count("<tr>") == 10  # the head and nine buildings
    assert part.count("d-none d-md-table-cell") == 4 * 10  # ages from md up only
    assert "¥123.45" in part and "<td" in body.split('id="homes"')[1]
    part, _body = groups_of(few["communities"][0])
    assert "data-bs-target" not in part and "collapse" not in part  # two buildings: shown as they are


def test_the_building_filter_offers_the_buildings_that_owe_and_keeps_the_chosen_one(app, a, login_as, make_roster):
    """A community's buildings are read once (its groups): the table, the totals, and the building filter's choices,
    which are the buildings that owe, in address order; a chosen building that owes nothing stays chosen."""
    _clear_world_bills(app, a)
    today = date.today()
    place = make_roster(a.company, communities=1, buildings=3, households=1, prefix="选")
    community = place["communities"][0]
    first, second, quiet = place["buildings"]
    with app.app_context(), company_context(a.company.id):
        make_bill(place["households"][0], amount=12345, due_on=today - timedelta(days=40))
        make_bill(place["households"][1], amount=20000, due_on=today - timedelta(days=400))
        db.session.commit()
    admin = login_as(a.admin)
    slug = a.company.slug

    def building_select(body):
        return body.split('id="f-building"')[1].split("</select>")[0]

    choices = building_select(admin.get(f"/c/{slug}/fees/arrears?community_id={community}").get_data(as_text=True))
    assert choices.index(f'value="{first}"') < choices.index(f'value="{second}"')  # 1号楼 before 2号楼
    assert f'value="{quiet}"' not in choices
    body = admin.get(f"/c/{slug}/fees/arrears?building_id={second}").get_data(as_text=True)
    assert f'value="{second}" selected' in building_select(body) and "¥200" in body and "¥123.45" not in body
    body = admin.get(f"/c/{slug}/fees/arrears?building_id={quiet}").get_data(as_text=True)
    assert f'value="{quiet}" selected' in building_select(body) and f'value="{first}"' in building_select(body)
    assert 'id="homes"' in body and "¥200" not in body
