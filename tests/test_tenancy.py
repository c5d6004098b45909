"""The tenancy mechanism itself: the ORM filter, stamping, immutability, the escape hatch, composite keys."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from saas.extensions import db
from saas.tenancy import CompanyMismatch, NoCompanyContext, all_companies, company_context
from tenants.roster.models import Building, Community, Household, Occupancy


def test_query_of_company_table_without_company_raises(ctx, two_companies):
    with pytest.raises(NoCompanyContext):
        db.session.execute(select(Household)).all()


def test_join_into_company_table_without_company_raises(ctx, two_companies):
    from saas.models import Membership, User

    with pytest.raises(NoCompanyContext):
        db.session.execute(select(User).join(Membership, Membership.user_id == User.id)).all()


def test_queries_see_only_the_current_company(ctx, two_companies):
    a, b = two_companies
    with company_context(a.company.id):
        ids = set(db.session.execute(select(Household.id)).scalars())
        assert ids == set(a.roster["households"])
        # Aggregates and subqueries are filtered too, not only entity loads.
        assert db.session.scalar(select(func.count()).select_from(Household)) == len(a.roster["households"])
        sub = select(Building.community_id, func.count().label("n")).group_by(Building.community_id).subquery()
        rows = db.session.execute(select(Community.id, sub.c.n).outerjoin(sub, sub.c.community_id == Community.id)).all()
        assert {r[0] for r in rows} == set(a.roster["communities"])
    with company_context(b.company.id):
        assert set(db.session.execute(select(Household.id)).scalars()) == set(b.roster["households"])


def test_one_statement_run_under_two_companies_sees_each_ones_rows(ctx, two_companies):
    # The filter's company is a parameter taken when the statement runs, so the same statement object (and its
    # cached SQL) serves each company with its own rows.
    a, b = two_companies
    statement = select(Household.id)
    with company_context(a.company.id):
        assert set(db.session.execute(statement).scalars()) == set(a.roster["households"])
    with company_context(b.company.id):
        assert set(db.session.execute(statement).scalars()) == set(b.roster["households"])


def test_relationship_loads_are_filtered_and_need_a_company(ctx, two_companies):
    a, b = two_companies
    with company_context(a.company.id):
        community = db.session.execute(select(Community).where(Community.id == a.roster["communities"][0])).scalar_one()
        db.session.expire(community, ["buildings"])
        assert community.buildings and {x.company_id for x in community.buildings} == {a.company.id}
        db.session.expire(community, ["buildings"])
    with pytest.raises(StatementError, match="no company set"):  # NoCompanyContext, raised as the load runs
        community.buildings  # noqa: B018  (the lazy load itself is the test)
    db.session.rollback()


def test_a_statement_built_once_is_filtered_and_checked_like_any_other(ctx, two_companies):
    from sqlalchemy import bindparam

    from saas.tenancy import built_once

    a, b = two_companies
    statement = built_once(select(Household.id).where(Household.id.in_(bindparam("ids", expanding=True))))
    every = a.roster["households"] + b.roster["households"]
    for _ in range(2):  # the kept filtered form and the kept check answer the second time as the first
        with company_context(a.company.id):
            assert set(db.session.execute(statement, {"ids": every}).scalars()) == set(a.roster["households"])
        with company_context(b.company.id):
            assert set(db.session.execute(statement, {"ids": every}).scalars()) == set(b.roster["households"])
        with pytest.raises(NoCompanyContext):
            db.session.execute(statement, {"ids": every}).all()
        db.session.rollback()


def test_company_id_is_stamped_on_insert(ctx, two_companies):
    a, _ = two_companies
    with company_context(a.company.id):
        community = Community(name="新小区")
        db.session.add(community)
        db.session.flush()
        assert community.company_id == a.company.id
        db.session.rollback()


def test_insert_without_company_raises(ctx, two_companies):
    db.session.add(Community(name="无主小区"))
    with pytest.raises(NoCompanyContext):
        db.session.flush()
    db.session.rollback()


def test_insert_for_another_company_raises(ctx, two_companies):
    a, b = two_companies
    with company_context(a.company.id):
        db.session.add(Community(name="越界", company_id=b.company.id))
        with pytest.raises(CompanyMismatch):
            db.session.flush()
        db.session.rollback()


def test_company_id_is_immutable(ctx, two_companies):
    a, b = two_companies
    with company_context(a.company.id):
        community = db.session.execute(select(Community)).scalars().first()
        community.company_id = b.company.id
        with pytest.raises(CompanyMismatch):
            db.session.flush()
        db.session.rollback()


def test_composite_foreign_key_refuses_cross_company_reference(app, two_companies):
    """Even with the ORM guard bypassed, the database refuses a building pointing at another company's community."""
    a, b = two_companies
    with app.app_context(), all_companies("test: cross-company reference"):
        db.session.add(Building(company_id=b.company.id, community_id=a.roster["communities"][0], name="X"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_all_companies_sees_everything_and_needs_a_reason(ctx, two_companies):
    a, b = two_companies
    with all_companies("test: count all households"):
        total = db.session.scalar(select(func.count()).select_from(Household))
    assert total == len(a.roster["households"]) + len(b.roster["households"])
    with pytest.raises(ValueError):
        with all_companies(""):
            pass


def test_floor_area_is_exact(ctx, two_companies):
    a, _ = two_companies
    with company_context(a.company.id):
        h = Household(building_id=a.roster["buildings"][0], unit="9", room="999", occupancy=Occupancy.VACANT)
        h.floor_area = Decimal("123.45")
        assert h.floor_area_dm2 == 12345
        assert h.floor_area == Decimal("123.45")
