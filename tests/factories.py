"""Factories (fixtures returning callables) and a two-company world for isolation tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from werkzeug.security import generate_password_hash

PASSWORD = "correct-horse-9"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt")  # hashed once: scrypt is slow on purpose
_phones = itertools.count(13500000000)


def next_phone() -> str:
    return str(next(_phones))


@pytest.fixture
def make_company(app):
    from saas.extensions import db
    from saas.models import Company

    def make(slug: str = "acme", name: str = "测试物业") -> Company:
        with app.app_context():
            company = Company(slug=slug, name=name)
            db.session.add(company)
            db.session.commit()
            db.session.refresh(company)
            db.session.expunge(company)
            return company

    return make


@pytest.fixture
def make_user(app):
    from saas.extensions import db
    from saas.models import User

    def make(name: str = "测试用户", phone: str | None = None, *, platform_admin: bool = False,
             memberships: list | None = None) -> User:
        """memberships: [(company, role), ...]"""
        from saas.models import Membership
        from saas.tenancy import company_context

        with app.app_context():
            user = User(name=name, phone=phone or next_phone(), password_hash=_PASSWORD_HASH,
                        is_platform_admin=platform_admin)
            db.session.add(user)
            db.session.flush()
            for company, role in memberships or []:
                with company_context(company.id):
                    db.session.add(Membership(user_id=user.id, role=role))
                    db.session.flush()
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def make_roster(app):
    """make_roster(company, communities=1, buildings=1, households=3) → dict of created ids."""
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.roster.models import Building, Community, Household, Occupancy

    def make(company, *, communities: int = 1, buildings: int = 1, households: int = 3, prefix: str = "") -> dict:
        out = {"communities": [], "buildings": [], "households": []}
        with app.app_context(), company_context(company.id):
            for c in range(communities):
                community = Community(name=f"{prefix}小区{c + 1}", address="测试路 1 号")
                db.session.add(community)
                db.session.flush()
                out["communities"].append(community.id)
                for b in range(buildings):
                    building = Building(community_id=community.id, name=f"{b + 1}号楼")
                    db.session.add(building)
                    db.session.flush()
                    out["buildings"].append(building.id)
                    for h in range(households):
                        household = Household(building_id=building.id, unit="1", room=f"{h + 1:02d}01",
                                              occupancy=Occupancy.OCCUPIED, owner_name=f"{prefix}业主{h}",
                                              owner_phone=next_phone())
                        household.floor_area = Decimal("88.50")
                        db.session.add(household)
                        db.session.flush()
                        out["households"].append(household.id)
            db.session.commit()
        return out

    return make


def login(client, user, password: str = PASSWORD):
    response = client.post("/login", data={"login": user.phone, "password": password})
    assert response.status_code == 303, response.data[:500]
    return client


@pytest.fixture
def login_as(app):
    def do(user, client=None):
        return login(client or app.test_client(), user)

    return do


@dataclass
class CompanyWorld:
    company: object
    admin: object
    steward: object
    technician: object
    owner: object
    roster: dict
    owner_household_id: object = None
    members: dict = field(default_factory=dict)
    # URL parameter name → this company's object id, for tests that walk the url_map (test_isolation.py).
    ids: dict = field(default_factory=dict)
    cashier: object = None  # 收费员: the fee pages only


@pytest.fixture
def two_companies(request, app, make_company, make_user, make_roster):
    """Companies A and B, each with every role and a small roster; A's owner is bound to a household. The world
    builders (tests/world/) the test asks for with @pytest.mark.world(...) add their objects (default: all)."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Membership, Role
    from saas.tenancy import company_context, utcnow
    from tenants.roster.models import HouseholdOwner

    worlds = {}
    for key, slug, name in (("a", "company-a", "甲物业"), ("b", "company-b", "乙物业")):
        company = make_company(slug, name)
        prefix = key.upper() + "标记"
        users = {
            role: make_user(f"{key}-{role.value}", memberships=[(company, role)])
            for role in (Role.ADMIN, Role.STEWARD, Role.TECHNICIAN, Role.OWNER, Role.CASHIER)
        }
        roster = make_roster(company, communities=1, buildings=2, households=2, prefix=prefix)
        with app.app_context(), company_context(company.id):
            owner_membership = db.session.execute(
                select(Membership).where(Membership.user_id == users[Role.OWNER].id)).scalar_one()
            db.session.add(HouseholdOwner(household_id=roster["households"][0], membership_id=owner_membership.id,
                                          verified_at=utcnow()))
            memberships = {m.role: m.id for m in db.session.execute(select(Membership)).scalars()}
            db.session.commit()
        world = CompanyWorld(company, users[Role.ADMIN], users[Role.STEWARD], users[Role.TECHNICIAN],
                             users[Role.OWNER], roster, roster["households"][0], memberships,
                             cashier=users[Role.CASHIER])
        world.ids = {
            "household_id": roster["households"][0],
            "community_id": roster["communities"][0],
            "building_id": roster["buildings"][0],
            "member_id": memberships[Role.STEWARD],
        }
        # Each module adds its own objects (and URL parameters) in tests/world/<module>.py: build(app, world).
        for builder in world_builders(request):
            world.ids.update(builder(app, world) or {})
        worlds[key] = world
    return worlds["a"], worlds["b"]


def world_builders(request):
    from tests.world import builders

    return builders(request)


def invitation_messages(app, world) -> list:
    """The invitations in ``world``'s outbox, oldest first (its work order has sent messages of its own)."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.notifications.models import OutboxMessage
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind.like("invitation%"))
                                  .order_by(OutboxMessage.created_at)).scalars().all()
        db.session.expunge_all()
        return rows
