"""Company isolation over every route of the app, found by walking app.url_map.

Every rule of the url_map is either walked here or listed in NOT_WALKED with the reason; a new route that is
neither fails test_every_route_is_walked_or_listed with its name. The walks:

- company routes (/c/<slug>/…): another company's user gets 404 on this company's slug and ids, for every method;
  one company's pages never show another's data. A route whose id parameter no builder provides fails and asks
  for it (tests/world/).
- public routes (/p/<slug>/…, no login): a company's public pages show it and never another company, nor any
  person's name or phone; a bad, suspended or ended company is 404; every method but GET/HEAD is 405.
- platform routes (/admin/…): a company's users get 404 for every method, anonymous visitors the sign-in page.
- entry routes (a QR poster's form, an invitation, joining a company, the signed-in home): reached with one
  company's token or slug, they never show another company's data.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.models import AuditEvent
from tenants.roster.models import Building, Community, Household

# URL parameters are filled from world.ids (tests/factories.py and the builders in tests/world/); a route
# whose parameter no builder provides fails test_every_route_is_walked_or_listed.

METHODS_TO_SKIP = {"HEAD", "OPTIONS"}

# The walks fill every route, so they need every world builder (tests/world/); a test that does not walks says so.
pytestmark = pytest.mark.world("all")

# Which walk of this file covers a route: the first entry its endpoint matches (a name ending in "." is a prefix).
WALKS = {
    "company.": "company",
    "public_company.": "public",
    "admin.": "platform",
    "intake.": "entry",
    "owners.": "entry",
    "auth.home": "entry",
    "ratings.company": "entry",     # the red/black list's public profile of one company (by its slug)
    "ratings.flag": "entry",        # reporting one of its reviews
}

# Routes no isolation walk covers, each with the reason. A stale entry (no such route) fails too.
NOT_WALKED = {
    "static": "the app's own files (CSS, scripts, icons): nothing of a company",
    "public.healthz": "database and queue status for the load balancer: nothing of a company",
    "public.index": "the landing page: nothing of a company (a signed-in visitor goes to auth.home, walked)",
    "public.pricing": "the plans and prices: nothing of a company",
    "ratings.index": "the red/black list across companies by design: names, grades and scores the job published, "
                     "no person (tests/test_ratings.py checks no name or phone appears)",
    "ratings.rules": "the published rules of the red/black list: nothing of a company",
    "auth.login": "signing in: nothing of a company is shown before it",
    "auth.logout": "signing out: ends the visitor's own session only",
    "auth.set_language": "stores the visitor's language in their own session and goes back",
    "auth.change_password": "the signed-in person's own password: nothing of a company",
    "signup.signup": "creates a new company; nothing of an existing one is shown",
    "signup.suggest_slug": "suggests a free web address; says only whether a slug is taken, as sign-up must",
    "subscriptions.stripe_webhook": "Stripe's signed events, no browser session: tests/test_stripe_webhooks.py "
                                    "refuses forged events and matches each event to its own company",
    "wechatpay.notify": "WeChat Pay's signed callbacks, no browser session: tests/test_wechat_pay.py refuses forged, "
                        "unknown and another company's notices and applies each to its own company only",
}


def walk_of(endpoint: str) -> str | None:
    for key, walk in WALKS.items():
        if endpoint == key or (key.endswith(".") and endpoint.startswith(key)):
            return walk
    return None


def rules_of(app, walk: str) -> list:
    return [r for r in app.url_map.iter_rules() if walk_of(r.endpoint) == walk]


def company_rules(app):
    return rules_of(app, "company")


def public_rules(app):
    return rules_of(app, "public")


def route_values(app, rule, world) -> dict:
    """The URL parameters of ``rule`` for ``world``'s own objects: world.ids (tests/world/), the company's slug and
    id, its QR poster's token (and a receipt for its job) and its invitation's token."""
    known = {**world.ids, "company_slug": world.company.slug, "company_id": world.company.id, "code": "zh_CN",
             "filename": "css/app.css"}
    if rule.endpoint.startswith("intake.") and "point_id" in world.ids:
        known["token"] = point_token(app, world)
        # The receipt of a job reported on that poster (qr_report), else of a honeypot catch: the same page, no job.
        known["receipt"] = receipt_for(app, known["token"], world.ids.get("qr_order_id"))
    elif rule.endpoint == "owners.accept_invitation":
        known["token"] = f"world-{world.company.id}"  # the raw token of tests/world/people.py's invitation
    missing = sorted(rule.arguments - known.keys())
    if missing:
        from tests.world import builders_for_parameters

        pytest.fail(f"{rule.endpoint}: add URL parameter(s) {missing} to a builder in tests/world/ (or ask for "
                    f"the builder that has them with @pytest.mark.world: {builders_for_parameters(missing)})")
    return {arg: known[arg] for arg in rule.arguments}


def point_token(app, world) -> str:
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders.models import RepairPoint

    with app.app_context(), company_context(world.company.id):
        token = db.session.get(RepairPoint, (world.company.id, world.ids["point_id"])).token
        db.session.remove()
    return token


def qr_report(app, world, description: str) -> None:
    """A job reported on the world's QR poster by a passer-by (world.ids["qr_order_id"]), as the form makes it."""
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.work_orders import points, services
    from tenants.work_orders.models import Area, RepairPoint, Source

    with app.app_context(), company_context(world.company.id):
        point = db.session.get(RepairPoint, (world.company.id, world.ids["point_id"]))
        order = services.create_order(
            services.Report(source=Source.QR, area=Area.COMMON, category_id=points.intake_category_id(point),
                            description=description, repair_point=point, reporter_name=f"{world.company.slug}报修人",
                            reporter_phone="13700000000"), actor=None, membership=None)
        world.ids["qr_order_id"] = order.id
        db.session.remove()


def receipt_for(app, token: str, order_id) -> str:
    from tenants.work_orders import intake_guard as intake

    with app.test_request_context():
        return intake.receipt_for(token, order_id)


def test_every_route_is_walked_or_listed(app, two_companies):
    unknown = sorted(r.endpoint for r in app.url_map.iter_rules()
                     if walk_of(r.endpoint) is None and r.endpoint not in NOT_WALKED)
    assert not unknown, f"walk these routes in tests/test_isolation.py or list them in NOT_WALKED with why: {unknown}"
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    stale = sorted(set(NOT_WALKED) - endpoints)
    assert not stale, f"NOT_WALKED lists routes that no longer exist: {stale}"
    assert len(company_rules(app)) >= 20 and public_rules(app)
    for world in two_companies:
        for rule in app.url_map.iter_rules():
            if walk_of(rule.endpoint):
                route_values(app, rule, world)


@pytest.mark.world()
def test_a_test_gets_only_the_world_builders_it_asks_for(two_companies):
    a, _ = two_companies
    assert {"household_id", "community_id", "building_id", "member_id"} <= a.ids.keys()
    assert not {"order_id", "export_id", "import_id", "invitation_id"} & a.ids.keys()


def test_world_builders_run_after_the_builders_they_need():
    from tests.world import builders_for_parameters, names, resolve

    assert resolve(["work_orders"]) == ["stewards", "work_orders"]
    everything = resolve(["all"])
    assert sorted(everything) == names() and everything.index("stewards") < everything.index("work_orders")
    assert builders_for_parameters(["order_id"]) == ["work_orders"]
    with pytest.raises(LookupError):
        resolve(["no_such_builder"])


def _form_data(world) -> dict:
    """Valid-looking data for every form field, so a leaking route would actually succeed."""
    return {
        "name": "越界写入", "address": "", "building_id": str(world.roster["buildings"][0]), "unit": "1",
        "room": "9999", "floor_area": "66.00", "occupancy": "vacant", "owner_name": "越界",
        "owner_phone": "13912345678", "phone": "13912345679", "role": "technician", "password": "long-enough-1",
    }


def _url(rule, slug: str, world) -> str:
    """``rule``'s URL under company ``slug`` with ``world``'s ids (another company's, to test isolation)."""
    values = {"company_slug": slug}
    for arg in rule.arguments - {"company_slug"}:
        assert arg in world.ids, f"{rule.endpoint}: add URL parameter {arg!r} to a builder in tests/world/"
        values[arg] = world.ids[arg]
    return rule.build(values)[1]


def _snapshot(app, world) -> dict:
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        snapshot = {
            model.__name__: sorted(
                (str(o.id), repr(sorted((k, str(v)) for k, v in vars(o).items() if not k.startswith("_"))))
                for o in db.session.execute(select(model)).scalars()
            )
            for model in (Community, Building, Household, AuditEvent)
        }
        db.session.remove()
    return snapshot


def test_other_companys_slug_is_404_for_every_route_and_method(app, two_companies, login_as):
    a, b = two_companies
    client = login_as(b.admin)
    before = _snapshot(app, a)
    for rule in company_rules(app):
        for method in sorted(rule.methods - METHODS_TO_SKIP):
            url = _url(rule, a.company.slug, a)
            response = client.open(url, method=method, data=_form_data(a))
            assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
    assert _snapshot(app, a) == before


def allowed_client(app, rule, world, login_as, clients: dict):
    """A signed-in client of ``world`` whose role the rule's view allows. A role the view refuses stops at 403
    before any id is looked up, so id checks must be made by a role that gets that far."""
    from saas.models import Role

    users = {Role.ADMIN: world.admin, Role.STEWARD: world.steward, Role.TECHNICIAN: world.technician,
             Role.OWNER: world.owner}
    role = app.view_functions[rule.endpoint].allowed_roles[0]
    if role not in clients:
        clients[role] = login_as(users[role])
    return clients[role]


def test_other_companys_ids_under_own_slug_are_404_for_every_method(app, two_companies, login_as):
    a, b = two_companies
    clients = {}
    before = _snapshot(app, a)
    checked = 0
    for rule in company_rules(app):
        if not rule.arguments - {"company_slug"}:
            continue
        client = allowed_client(app, rule, b, login_as, clients)
        for method in sorted(rule.methods - METHODS_TO_SKIP):
            url = _url(rule, b.company.slug, a)
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(url, method=method, data=_form_data(a), headers=headers)
                assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
                checked += 1
    assert checked >= 20
    assert _snapshot(app, a) == before


def test_own_pages_never_show_another_companys_data(app, two_companies, login_as):
    a, b = two_companies
    markers = ["A标记业主", "A标记小区", a.company.name]
    from saas.extensions import db
    from saas.tenancy import company_context

    with app.app_context(), company_context(a.company.id):
        markers += [h.owner_phone for h in db.session.execute(select(Household)).scalars()]
    for user in (b.admin, b.steward, b.technician, b.owner):
        client = login_as(user)
        for rule in company_rules(app):
            if "GET" not in rule.methods:
                continue
            url = _url(rule, b.company.slug, b)
            for query in ("", "?q=业主", "?q=1"):
                response = client.get(url + query)
                assert response.status_code in (200, 303, 403), f"GET {url}{query} → {response.status_code}"
                body = _readable_text(response)
                for marker in markers:
                    assert marker not in body, f"GET {url}{query} shows company A's {marker!r} to {user.name}"


def _readable_text(response) -> str:
    """The text a person would see: the page, or every cell of a downloaded workbook."""
    if response.mimetype.startswith("text/") or response.mimetype == "application/json":
        return response.get_data(as_text=True)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        import io

        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return "\n".join(str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return response.get_data().decode("utf-8", errors="replace")


@pytest.mark.world()
def test_unknown_company_slug_is_404(app, two_companies, login_as):
    _, b = two_companies
    client = login_as(b.admin)
    assert client.get("/c/no-such-company/").status_code == 404
    assert client.get("/c/no-such-company/households").status_code == 404
    # Signed out, a company that exists and one that does not answer alike: the login page.
    anonymous = app.test_client()
    for slug in ("no-such-company", b.company.slug):
        response = anonymous.get(f"/c/{slug}/households")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_users_are_sent_to_login(app, two_companies, method):
    a, _ = two_companies
    client = app.test_client()
    for rule in company_rules(app):
        if method not in rule.methods:
            continue
        url = _url(rule, a.company.slug, a)
        response = client.open(url, method=method)
        assert response.status_code == 302, f"{method} {url} → {response.status_code}"
        assert "/login" in response.headers["Location"]


@pytest.mark.world()
def test_ended_membership_loses_access(app, two_companies, login_as):
    from saas.extensions import db
    from saas.models import Membership
    from saas.tenancy import company_context, utcnow

    a, _ = two_companies
    client = login_as(a.steward)
    assert client.get(f"/c/{a.company.slug}/steward").status_code == 200
    with app.app_context(), company_context(a.company.id):
        m = db.session.execute(select(Membership).where(Membership.user_id == a.steward.id)).scalar_one()
        m.ended_at = utcnow()
        db.session.commit()
    assert client.get(f"/c/{a.company.slug}/steward").status_code == 404


# --- public routes: /p/<company_slug>/… -------------------------------------------------------------------------

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def publish_profiles(app, *worlds) -> None:
    """Give each company a published profile of its own (licence number, phones, address)."""
    from saas.extensions import db
    from saas.models import Company

    with app.app_context():
        for n, world in enumerate(worlds, start=1):
            company = db.session.get(Company, world.company.id)
            company.licence_number = f"91650100MA7ABCD{n:02d}X"
            company.service_phone = f"400-800-{n:04d}"
            company.complaint_phone = f"0991-765432{n}"
            company.address = f"{company.name}路 {n} 号"
        db.session.commit()
        for world in worlds:
            world.company = db.session.get(Company, world.company.id)
            db.session.expunge(world.company)


def company_markers(app, world) -> list[str]:
    """What only ``world``'s company shows: its name, profile and community names (checked by publish_profiles)."""
    from saas.extensions import db
    from saas.tenancy import company_context

    c = world.company
    with app.app_context(), company_context(c.id):
        communities = list(db.session.execute(select(Community.name)).scalars())
        db.session.remove()
    return [c.name, c.slug, c.licence_number, c.service_phone, c.complaint_phone, c.address, *communities]


def personal_markers(app, world) -> list[str]:
    """Every person's name and phone in ``world``: owners of homes, members, the steward's work phone."""
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.stewards.models import StewardProfile

    people = [u for u in (world.admin, world.steward, world.technician, world.owner)]
    markers = [p for u in people for p in (u.name, u.phone)]
    with app.app_context(), company_context(world.company.id):
        for household in db.session.execute(select(Household)).scalars():
            markers += [household.owner_name, household.owner_phone]
        markers += [p.work_phone for p in db.session.execute(select(StewardProfile)).scalars() if p.work_phone]
        db.session.remove()
    return [m for m in markers if m]


def test_public_pages_show_their_company_and_never_another_or_a_person(app, two_companies):
    a, b = two_companies
    publish_profiles(app, a, b)
    client = app.test_client()
    for world, other in ((a, b), (b, a)):
        own = company_markers(app, world)
        forbidden = company_markers(app, other) + personal_markers(app, world) + personal_markers(app, other)
        for rule in public_rules(app):
            url = rule.build(route_values(app, rule, world))[1]
            response = client.get(url)
            assert response.status_code == 200, f"GET {url} ({rule.endpoint}) → {response.status_code}"
            body = _readable_text(response)
            assert world.company.name in body, f"GET {url} does not name its company"
            for marker in forbidden:
                assert marker not in body or marker in own, f"GET {url} shows {marker!r}"


def test_public_pages_of_an_unknown_suspended_or_ended_company_are_404(app, two_companies):
    from saas.extensions import db
    from saas.models import Company, SubscriptionStatus
    from saas.tenancy import utcnow

    a, b = two_companies
    client = app.test_client()
    with app.app_context():
        db.session.get(Company, a.company.id).suspended_at = utcnow()
        db.session.get(Company, b.company.id).subscription_status = SubscriptionStatus.CANCELED
        db.session.commit()
    for rule in public_rules(app):
        for slug in ("no-such-company", a.company.slug, b.company.slug, "%00", "x" * 300):
            url = rule.build({**route_values(app, rule, a), "company_slug": slug})[1]
            for method in ("GET", "HEAD"):
                response = client.open(url, method=method)
                assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"


def test_public_pages_take_no_other_method_and_change_nothing(app, two_companies, login_as):
    a, _ = two_companies
    clients = (app.test_client(), login_as(a.admin))  # signing in is recorded: before the snapshot
    before = _snapshot(app, a)
    for client in clients:
        for rule in public_rules(app):
            url = rule.build(route_values(app, rule, a))[1]
            for method in WRITE_METHODS:
                response = client.open(url, method=method, data=_form_data(a))
                assert response.status_code == 405, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
    assert _snapshot(app, a) == before


def test_public_pages_with_another_companys_ids_are_404(app, two_companies):
    a, b = two_companies
    client = app.test_client()
    for rule in public_rules(app):
        if not rule.arguments - {"company_slug"}:
            continue  # the card: its slug is all it has
        url = rule.build({**route_values(app, rule, a), "company_slug": b.company.slug})[1]
        response = client.get(url)
        assert response.status_code == 404, f"GET {url} ({rule.endpoint}) → {response.status_code}"


# --- platform routes: /admin/… -------------------------------------------------------------------------------------


def test_platform_routes_are_404_for_company_users_and_ask_strangers_to_sign_in(app, two_companies, login_as):
    from saas.extensions import db
    from saas.models import Company

    a, b = two_companies

    def companies():
        with app.app_context():
            rows = [repr(sorted((k, str(v)) for k, v in vars(c).items() if not k.startswith("_")))
                    for c in db.session.execute(select(Company).order_by(Company.slug)).scalars()]
            db.session.remove()
            return rows

    before = companies()
    anonymous = app.test_client()
    for user in (b.admin, b.steward, b.technician, b.owner):
        client = login_as(user)
        for rule in rules_of(app, "platform"):
            url = rule.build(route_values(app, rule, a))[1]
            for method in sorted(rule.methods - METHODS_TO_SKIP):
                response = client.open(url, method=method, data={"days": "30", "plan": "basic", "months": "12"})
                assert response.status_code == 404, f"{user.name}: {method} {url} → {response.status_code}"
                response = anonymous.open(url, method=method)
                assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)
    assert companies() == before


# --- entry routes: a QR poster, an invitation, joining a company, the signed-in home ------------------------------


def test_entry_pages_reached_for_one_company_never_show_another(app, two_companies, login_as):
    a, b = two_companies
    publish_profiles(app, a, b)
    for world in (a, b):
        qr_report(app, world, f"{world.company.slug}的路灯不亮")
    for world, other in ((a, b), (b, a)):
        own = company_markers(app, world) + personal_markers(app, world) + [f"{world.company.slug}的路灯不亮"]
        forbidden = [f"{other.company.slug}的路灯不亮"]
        # (what both companies share, such as the builders' steward work phone, proves nothing either way)
        forbidden += [m for m in company_markers(app, other) + personal_markers(app, other) if m not in own]
        for rule in rules_of(app, "entry"):
            if "GET" not in rule.methods:
                continue
            client = login_as(world.admin) if rule.endpoint.startswith("auth.") else app.test_client()
            url = rule.build(route_values(app, rule, world))[1]
            response = client.get(url, follow_redirects=True)  # the home of a one-company user is its dashboard
            assert response.status_code == 200, f"GET {url} ({rule.endpoint}) → {response.status_code}"
            body = _readable_text(response)
            for marker in forbidden:
                assert marker not in body, f"GET {url} ({rule.endpoint}) shows the other company's {marker!r}"


def test_a_receipt_of_one_companys_poster_is_404_on_another_companys_poster(app, two_companies):
    a, b = two_companies
    qr_report(app, a, "路灯不亮")
    token = point_token(app, a)
    client = app.test_client()
    receipt = receipt_for(app, token, a.ids["qr_order_id"])
    assert client.get(f"/r/{token}/done/{receipt}").status_code == 200
    assert client.get(f"/r/{point_token(app, b)}/done/{receipt}").status_code == 404
    # B's poster with a receipt naming A's job, signed for B's poster: the job is not B's.
    foreign = receipt_for(app, point_token(app, b), a.ids["qr_order_id"])
    assert client.get(f"/r/{point_token(app, b)}/done/{foreign}").status_code == 404
