"""Demo data for the embedded default: two companies, every role, a realistic small roster."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.extensions import db
from saas.models import Company, Membership, Role, User
from saas.tenancy import company_context, utcnow
from tenants.roster.codes import generate_household_code
from tenants.roster.models import Building, Community, Household, HouseholdOwner, Occupancy

DEMO_PASSWORD = "guanjia-demo"

DEMO_LOGINS = [
    # (phone, name, role or None for platform admin, company slug)
    ("13800000000", "平台管理员", None, None),
    ("13800000001", "王经理", Role.ADMIN, "hongshan-wuye"),
    ("13800000002", "李管家", Role.STEWARD, "hongshan-wuye"),
    ("13800000003", "张师傅", Role.TECHNICIAN, "hongshan-wuye"),
    ("13800000004", "赵业主", Role.OWNER, "hongshan-wuye"),
    ("13800000005", "周管家", Role.STEWARD, "hongshan-wuye"),
    ("13800000006", "孙管家", Role.STEWARD, "hongshan-wuye"),
    ("13900000001", "陈经理", Role.ADMIN, "tianshan-wuye"),
]

COMPANIES = {
    "hongshan-wuye": ("红山物业", [("红山小区", "乌鲁木齐市天山区红山路 88 号", 6),
                                   ("幸福家园", "乌鲁木齐市沙依巴克区友好北路 12 号", 4)]),
    "tianshan-wuye": ("天山物业", [("天山花园", "乌鲁木齐市新市区北京南路 200 号", 3)]),
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def _user(phone: str, name: str, platform_admin: bool = False) -> User:
    user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        user = User(phone=phone, name=name, is_platform_admin=platform_admin)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def seed_demo(rng_seed: int = 2026) -> bool:
    """Create the demo data once. Returns False when it was already there (idempotent)."""
    if db.session.execute(select(Company).where(Company.slug == "hongshan-wuye")).scalar_one_or_none():
        return False
    rng = random.Random(rng_seed)
    companies = {}
    for slug, (name, communities) in COMPANIES.items():
        company = Company(slug=slug, name=name, trial_ends_at=utcnow() + timedelta(days=30),
                          licence_number="91650100MA7EXAMPLE", complaint_phone="0991-4567890",
                          address=communities[0][1])
        db.session.add(company)
        db.session.flush()
        companies[slug] = company
        with company_context(company.id):
            for community_name, address, building_count in communities:
                community = Community(name=community_name, address=address)
                db.session.add(community)
                db.session.flush()
                for b in range(1, building_count + 1):
                    building = Building(community_id=community.id, name=f"{b}号楼")
                    db.session.add(building)
                    db.session.flush()
                    for unit in ("1", "2"):
                        for floor in range(1, 7):
                            for door in (1, 2):
                                occupancy = rng.choices(list(Occupancy), weights=[85, 10, 5])[0]
                                h = Household(building_id=building.id, unit=unit, room=f"{floor}0{door}",
                                              occupancy=occupancy, household_code=generate_household_code())
                                h.floor_area = Decimal(rng.randint(7000, 12500)) / 100
                                if occupancy != Occupancy.UNDELIVERED:
                                    h.owner_name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                                    h.owner_phone = f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
                                db.session.add(h)
            db.session.flush()
    for phone, name, role, slug in DEMO_LOGINS:
        user = _user(phone, name, platform_admin=role is None)
        if role is None:
            continue
        with company_context(companies[slug].id):
            membership = Membership(user_id=user.id, role=role)
            db.session.add(membership)
            db.session.flush()
            if role == Role.OWNER:
                household = db.session.execute(
                    select(Household).join(Household.building).join(Building.community)
                    .where(Community.name == "红山小区", Building.name == "1号楼", Household.room == "302")
                    .order_by(Household.unit).limit(1)
                ).scalar_one()
                household.owner_name, household.owner_phone = name, phone
                household.occupancy = Occupancy.OCCUPIED
                db.session.add(HouseholdOwner(household_id=household.id, membership_id=membership.id,
                                              verified_at=utcnow()))
                db.session.flush()
    db.session.commit()
    _assign_demo_stewards(companies["hongshan-wuye"])
    return True


def _assign_demo_stewards(company: Company) -> None:
    """红山小区 gets its stewards by auto-assign; 幸福家园 is left without, so the gap shows on the stewards page."""
    from tenants.stewards import services as stewards

    admin = db.session.execute(select(User).where(User.phone == "13800000001")).scalar_one()
    steward_user = db.session.execute(select(User).where(User.phone == "13800000002")).scalar_one()
    with company_context(company.id):
        community = db.session.execute(select(Community).where(Community.name == "红山小区")).scalar_one()
        proposal = stewards.propose(community.id, rebalance=False)
        stewards.apply_proposal(community.id, rebalance=False, digest=proposal.digest(), actor=admin, notify=False)
        steward = db.session.execute(select(Membership).where(Membership.user_id == steward_user.id)).scalar_one()
        stewards.update_profile(steward, work_phone="0991-4567891", working_hours="周一至周六 9:00–18:00",
                                actor=steward_user)
        home = db.session.execute(
            select(Household).join(stewards.StewardAssignment, stewards.StewardAssignment.household_id == Household.id)
            .where(stewards.StewardAssignment.steward_id == steward.id,
                   stewards.StewardAssignment.ended_at.is_(None)).limit(1)
        ).scalar_one()
        from tenants.stewards.queries import local_today

        stewards.log_contact(home, steward, kind="visit", contacted_on=local_today(),
                             note="入户走访，业主反映楼道灯不亮，已记录。", actor=steward_user, today=local_today())
