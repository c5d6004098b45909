"""Demo data for the embedded default: two companies, every role, a realistic small roster."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update

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
    ("13800000007", "钱会计", Role.CASHIER, "hongshan-wuye"),
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
                          licence_number="91650100MA7EXAMPLE", service_phone="0991-4567888",
                          complaint_phone="0991-4567890", address=communities[0][1])
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
    for company in companies.values():
        with company_context(company.id):
            from tenants.work_orders.services import ensure_default_categories

            ensure_default_categories()
            db.session.commit()
    _demo_work_orders(companies["hongshan-wuye"], rng)
    _demo_fees(companies["hongshan-wuye"], rng)
    _demo_disclosures(companies["hongshan-wuye"])
    _demo_ratings(companies["hongshan-wuye"], rng)
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
        from saas.clock import local_today

        stewards.log_contact(home, steward, kind="visit", contacted_on=local_today(),
                             note="入户走访，业主反映楼道灯不亮，已记录。", actor=steward_user, today=local_today())


DEMO_REPAIRS = ["厨房水龙头一直滴水", "卫生间地漏返味", "客厅插座没电", "入户门锁不好用", "阳台窗户关不严",
                "楼道灯不亮", "电梯按钮失灵", "单元门禁刷卡没反应", "暖气片不热", "水管接头渗水"]


def _demo_work_orders(company: Company, rng: random.Random) -> None:
    """Eight weeks of repairs for the dashboard and lists: most finished and rated, some open, one overdue, one in
    the grab pool, one waiting for 赵业主 to rate, and a QR poster for an elevator."""
    from tenants.work_orders import points, services
    from tenants.work_orders.models import Area, CategoryTechnician, DispatchMode, Source, WorkOrderCategory
    from tenants.work_orders.states import Action

    with company_context(company.id):
        members = {m.user.phone: m for m in db.session.execute(select(Membership)).scalars()}
        admin, technician, owner = members["13800000001"], members["13800000003"], members["13800000004"]
        categories = {c.name: c for c in db.session.execute(select(WorkOrderCategory)).scalars()}
        for name in ("水暖", "电路", "电梯", "公共设施", "门窗"):
            db.session.add(CategoryTechnician(category_id=categories[name].id, membership_id=technician.id))
        categories["公共设施"].dispatch_mode = DispatchMode.POOL
        db.session.commit()
        community = db.session.execute(select(Community).where(Community.name == "红山小区")).scalar_one()
        building = db.session.execute(select(Building).where(Building.community_id == community.id)
                                      .order_by(Building.name)).scalars().first()
        points.create_point(name="1号楼 1单元 电梯", community_id=community.id, building_id=building.id,
                            category_id=categories["电梯"].id, actor=admin.user)
        homes = db.session.execute(select(Household).join(Household.building)
                                   .where(Building.community_id == community.id, Household.owner_phone != "")
                                   .order_by(Household.room).limit(30)).scalars().all()
        own_home = db.session.execute(
            select(Household).join(HouseholdOwner, HouseholdOwner.household_id == Household.id)
            .where(HouseholdOwner.membership_id == owner.id)).scalar_one()
        now = utcnow()
        names = list(categories)
        for i in range(36):
            opened = now - timedelta(days=56 - i * 1.5, hours=rng.randint(0, 8))
            home = own_home if i in (4, 9, 14, 19, 24, 28, 33, 35) else rng.choice(homes)
            common = i % 4 == 3
            name = rng.choice(["电梯", "公共设施"]) if common else rng.choice([n for n in names if n != "公共设施"])
            order = services.create_order(services.Report(
                source=Source.PORTAL if not common else Source.PHONE, area=Area.COMMON if common else Area.HOME,
                category_id=categories[name].id, household=home, description=rng.choice(DEMO_REPAIRS),
                preferred_time="工作日晚上" if i % 3 else "", priority="urgent" if i % 9 == 0 else "normal",
            ), actor=owner.user if home is own_home else admin.user, membership=owner if home is own_home else admin,
                now=opened)
            if i >= 34:
                continue  # still new: in the pool or waiting for someone
            doer = technician
            steps = [(Action.ASSIGN, {"assignee_id": technician.id}), (Action.ACCEPT, {}), (Action.START, {})]
            if i < 30:
                steps.append((Action.COMPLETE, {"note": "已修好，试用正常"}))
            if i < 27:
                steps.append((Action.RATE, {"ratings": services.Ratings(rng.randint(3, 5), rng.randint(3, 5),
                                                                          rng.randint(4, 5))}))
            at = opened
            for action, kwargs in steps:
                at += timedelta(hours=rng.randint(1, 30) if action == Action.COMPLETE else rng.randint(0, 3),
                                minutes=rng.randint(5, 50))
                if order.in_pool and action == Action.ASSIGN:
                    action, kwargs = Action.GRAB, {}
                member = admin if action == Action.ASSIGN else owner if action == Action.RATE else doer
                if action == Action.RATE and order.household_id != own_home.id:
                    member = None  # the other homes' owners have no accounts: the system closes instead
                    action = Action.CLOSE
                if action == Action.ACCEPT and order.accepted_at:
                    continue
                order = services.perform(order, action, actor=member.user if member else None, membership=member,
                                         now=min(at, now), **kwargs)


DEMO_FEE_MONTHS = 6


def _demo_fees(company: Company, rng: random.Random) -> None:
    """Six months of fees in 红山物业, made the way the company makes them: fee items with rates, a bill run per
    community and month (the jobs called directly, so the seed needs no worker), and payments at the counter. Most
    homes paid the older months; the last two are partly unpaid, so the arrears and collection pages have every
    age to show, and 赵业主 has this month and last month to pay under "My bills"."""
    from saas.clock import local_today
    from tenants.fees import items, ledger, runs, settings
    from tenants.fees.billing import period_containing
    from tenants.fees.models import Bill, BillRun, BillRunStatus, FeeKind, PaymentMethod, PeriodKind

    with company_context(company.id):
        members = {m.user.phone: m for m in db.session.execute(select(Membership)).scalars()}
        admin, cashier, owner = (members[p].user for p in ("13800000001", "13800000007", "13800000004"))
        settings.update_settings(
            due_days=15, prepay_cap_months=12, contract_ends_on=None, reminder_interval_days=7,
            offline_instructions="物业服务中心（红山小区 1号楼 底商）周一至周六 9:00–18:00 现金、刷卡均可；对公转账："
                                 "中国工商银行乌鲁木齐红山支行 3002 0012 0920 0088 888，户名 红山物业服务有限公司。",
            late_fees_enabled=False, late_fee_clause="", late_fee_daily_permyriad=None, late_fee_grace_days=None,
            late_fee_cap_percent=None, actor=admin)
        today = local_today()
        first = period_containing(PeriodKind.MONTH, today).start
        for _ in range(DEMO_FEE_MONTHS - 1):
            first = period_containing(PeriodKind.MONTH, first - timedelta(days=1)).start
        communities = db.session.execute(select(Community).order_by(Community.name)).scalars().all()
        for community in communities:
            price = "1.80" if community.name == "红山小区" else "2.20"
            service = items.create_item(community, name="物业服务费", kind=FeeKind.PER_AREA, area_basis="gross",
                                        vacant_percent=50, actor=admin)
            items.add_rate(service, price=price, effective_from=first, note="前期物业服务合同", actor=admin)
            rubbish = items.create_item(community, name="生活垃圾清运费", kind=FeeKind.FIXED, actor=admin)
            items.add_rate(rubbish, price="10", effective_from=first, note="乌鲁木齐市发改委文件", actor=admin)
        start = first
        while start <= today:
            period = period_containing(PeriodKind.MONTH, start)
            for community in communities:
                run = BillRun(community_id=community.id, period_kind=PeriodKind.MONTH, period_start=period.start,
                              period_end=period.end, status=BillRunStatus.PREVIEWING, progress=0, total=0,
                              preview={}, created_by_id=admin.id)
                db.session.add(run)
                db.session.commit()
                runs.build_preview(str(run.id))
                run.status = BillRunStatus.ISSUING
                db.session.commit()
                runs.issue_run(str(run.id), str(admin.id))
            # Issued on the month's first day, as the company would have: due on the 16th.
            db.session.execute(update(Bill).where(Bill.period_start == period.start)
                               .values(due_on=period.start + timedelta(days=15)))
            db.session.commit()
            start = period.end
        own_home = db.session.execute(select(HouseholdOwner.household_id).join(
            Membership, Membership.id == HouseholdOwner.membership_id).where(Membership.user_id == owner.id)).scalar()
        homes = db.session.execute(select(Household)).scalars().all()
        bills = {}
        for bill in db.session.execute(select(Bill).order_by(Bill.period_start)).scalars():
            bills.setdefault(bill.household_id, []).append(bill)
        methods = [PaymentMethod.CASH, PaymentMethod.WECHAT_TRANSFER, PaymentMethod.ALIPAY_TRANSFER]
        for home in homes:
            chosen = []
            for bill in bills.get(home.id, []):
                months_ago = (today.year - bill.period_start.year) * 12 + today.month - bill.period_start.month
                share = 92 if months_ago >= 2 else 65 if months_ago == 1 else 30
                if home.id == own_home:
                    share = 100 if months_ago >= 2 else 0
                if rng.randint(1, 100) <= share:
                    chosen.append(bill)
            if chosen:
                ledger.record_offline_payment(home, method=rng.choice(methods), amount_fen=sum(
                    b.amount_fen for b in chosen), bill_ids=[b.id for b in chosen], actor=cashier)
        db.session.commit()


def _demo_disclosures(company: Company) -> None:
    """红山小区's public disclosure: its price board from the fee items, last quarter's common-area income with
    three lines, and 赵业主's question on one of them answered by the company (all public at /p/hongshan-wuye/)."""
    from saas.clock import SHANGHAI, local_today
    from tenants.disclosures import services as disclosures
    from tenants.disclosures.models import Kind

    with company_context(company.id):
        members = {m.user.phone: m for m in db.session.execute(select(Membership)).scalars()}
        admin, owner = members["13800000001"].user, members["13800000004"].user
        community = db.session.execute(select(Community).where(Community.name == "红山小区")).scalar_one()
        today = local_today()
        quarter = (today.month - 1) // 3  # the quarter before this one: the company began disclosing then
        start = date(today.year, quarter * 3 - 2, 1) if quarter else date(today.year - 1, 10, 1)
        end = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1) - timedelta(days=1)
        at = datetime.combine(start, time(10), SHANGHAI)
        disclosures.update_profile(
            community, charged_party="红山小区全体业主（按建筑面积）", service_grade="二级物业服务标准：24 小时门岗、"
            "每日两次楼道保洁、电梯每半月维保一次、绿化每月修剪。", price_form="government",
            basis_document="乌发改收费〔2021〕12 号", billing_start=start, complaint_phone="12315",
            calendar_from=start, actor=admin)
        disclosures.publish_board(community, actor=admin, now=at)
        statement = disclosures.create_draft(community, kind=Kind.COMMON_INCOME, title="",
                                             period_start=start, period_end=end, actor=admin)
        elevator = disclosures.add_line(statement, label="电梯轿厢广告", amount="18000", cost="1800",
                                        owners_share="11340", detail="分众传媒，12 部电梯；成本为代理服务费 10%；"
                                        "业主共有部分 70% 转入专项维修资金", actor=admin)
        disclosures.add_line(statement, label="地面临时停车费", amount="9600", cost="2400", owners_share="5040",
                             detail="成本为收费员劳务费；业主所得转入专项维修资金", actor=admin)
        disclosures.add_line(statement, label="会所场地租赁", amount="6000", owners_share="4200",
                             detail="周末早教班租用", actor=admin)
        disclosures.publish(statement, actor=admin, now=at + (end - start) + timedelta(days=10))
        home = db.session.execute(select(Household).join(HouseholdOwner, HouseholdOwner.household_id == Household.id)
                                  .where(HouseholdOwner.membership_id == members["13800000004"].id)).scalar_one()
        objection = disclosures.raise_objection(elevator, household=home, question="电梯广告的收入为什么只有一家"
                                                "公司？合同期多长？", actor=owner,
                                                now=at + (end - start) + timedelta(days=20))
        disclosures.reply(objection, now=at + (end - start) + timedelta(days=22),
                          text="广告合同经 2025 年业主大会表决，与分众传媒签约三年（至 2028 年 6 月），"
                               "合同可在物业服务中心查阅。",
                          actor=admin)


DEMO_COMMENTS = ["报修响应很快，师傅态度好。", "楼道保洁还可以，垃圾清运偶尔不及时。", "公共收益有公示，比以前透明。",
                 "管家能及时回复微信。", "停车管理有点乱，希望改进。", "", "", ""]


def _demo_ratings(company: Company, rng: random.Random) -> None:
    """24 owners of 红山小区 (accounts bound to their homes three months ago) rate 红山物业 this quarter, then the
    red/black list job runs, so /ratings/ shows a scored company with its reviews and figures."""
    from saas.clock import local_today
    from saas.ratings import job
    from saas.ratings import services as ratings
    from saas.ratings.figures import quarter_of
    from saas.ratings.models import DIMENSIONS

    since = utcnow() - timedelta(days=90)
    with company_context(company.id):
        community = db.session.execute(select(Community).where(Community.name == "红山小区")).scalar_one()
        owned = set(db.session.execute(select(HouseholdOwner.household_id)).scalars())
        homes = db.session.execute(
            select(Household).join(Household.building).where(
                Building.community_id == community.id, Household.owner_phone != "", Household.id.not_in(owned))
            .order_by(Household.created_at, Household.id).limit(24)).scalars().all()
        raters = []
        for home in homes:
            user = _user(home.owner_phone, home.owner_name)
            user.created_at = since
            membership = Membership(user_id=user.id, role=Role.OWNER)
            db.session.add(membership)
            db.session.flush()
            db.session.add(HouseholdOwner(household_id=home.id, membership_id=membership.id, verified_at=since,
                                          created_at=since))
            raters.append((home.id, user.id))  # ids: the rows are out of reach outside the company's context
        community_name = community.name
        db.session.commit()
    quarter_began = quarter_of(local_today())[0]
    spread = max(1, (local_today() - quarter_began).days)
    for k, (household_id, user_id) in enumerate(raters):
        user = db.session.get(User, user_id)
        user.created_at = since - timedelta(days=3 * k)  # owners joined over months, not on one day
        scores = {name: str(rng.choices([3, 4, 5], weights=[1, 4, 5])[0]) for name in DIMENSIONS}
        rating = ratings.submit_rating(
            company_id=company.id, household_id=household_id, user=user, owner_since=local_today(since),
            community_name=community_name, is_staff=False, former_staff=False, scores=scores,
            comment=rng.choice(DEMO_COMMENTS), ip=f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            user_agent=f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{k} like Mac OS X) MicroMessenger/8.0.{40 + k}")
        # Rated over the quarter so far, a couple a day at most: the moderation queue shows no false burst.
        rating.created_at = rating.updated_at = utcnow() - timedelta(days=(k * spread) // len(raters))
    db.session.commit()
    job.run_all()
    db.session.commit()
