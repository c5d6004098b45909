"""The public company card, /p/<company_slug>/: what a company publishes to everybody, signed out, without a
session cookie, and nothing personal. The url_map walks (tests/test_isolation.py, test_roles.py, test_bad_input.py)
cover every public page for another company's data, bad slugs and methods; these tests check the card itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.test_isolation import personal_markers, publish_profiles

pytestmark = pytest.mark.world()  # the base world: two companies, their people and a small roster


def _card(app, world, client=None, **kw):
    return (client or app.test_client()).get(f"/p/{world.company.slug}/", **kw)


def _set_company(app, world, **fields) -> None:
    from saas.extensions import db
    from saas.models import Company

    with app.app_context():
        company = db.session.get(Company, world.company.id)
        for name, value in fields.items():
            setattr(company, name, value)
        db.session.commit()


def test_the_card_shows_the_published_profile_and_the_communities_by_name(app, two_companies):
    a, _ = two_companies
    publish_profiles(app, a)
    response = _card(app, a)
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    company = a.company
    for text in (company.name, company.licence_number, company.service_phone, company.complaint_phone,
                 company.address, "A标记小区1", "Communities we manage"):
        assert text in body, text
    assert f'href="tel:{company.service_phone}"' in body and f'href="tel:{company.complaint_phone}"' in body
    assert "This company has not published its contact details yet." not in body
    assert f'href="/p/{company.slug}/disclosures/"' in body  # the owners' way to the fee disclosures


def test_the_card_is_in_chinese_for_a_chinese_visitor(app, two_companies):
    a, _ = two_companies
    publish_profiles(app, a)
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "zh_CN"
    body = _card(app, a, client).get_data(as_text=True)
    for text in ("统一社会信用代码", "服务电话", "投诉电话", "地址", "在管小区", "物业服务企业", 'lang="zh-CN"'):
        assert text in body, text
    assert "Communities we manage" not in body


def test_a_company_without_a_profile_says_so_and_shows_no_empty_rows(app, two_companies):
    a, _ = two_companies
    body = _card(app, a).get_data(as_text=True)
    assert "This company has not published its contact details yet." in body
    assert "Unified social credit code" not in body and "tel:" not in body


def test_deleted_communities_are_not_listed(app, two_companies):
    from saas.extensions import db
    from saas.models import User
    from saas.tenancy import company_context
    from tenants.roster import services
    from tenants.roster.models import Community

    a, _ = two_companies
    with app.app_context(), company_context(a.company.id):
        db.session.add(Community(name="已撤场小区", address=""))
        db.session.commit()
        gone = db.session.execute(select(Community).where(Community.name == "已撤场小区")).scalar_one()
        services.delete_community(gone, actor=db.session.get(User, a.admin.id))
        db.session.commit()
    body = _card(app, a).get_data(as_text=True)
    assert "A标记小区1" in body and "已撤场小区" not in body


@pytest.mark.world("stewards")
def test_the_card_shows_nothing_personal(app, two_companies):
    a, b = two_companies
    publish_profiles(app, a, b)
    body = _card(app, a).get_data(as_text=True)
    for marker in personal_markers(app, a) + ["1号楼", "2号楼", "0101", b.company.name, "B标记小区1"]:
        assert marker not in body, marker


def test_the_card_works_signed_out_and_sets_no_cookie(app, two_companies, login_as):
    a, _ = two_companies
    for method in ("GET", "HEAD"):
        response = app.test_client().open(f"/p/{a.company.slug}/", method=method)
        assert response.status_code == 200, method
        assert "Set-Cookie" not in response.headers, (method, response.headers.get("Set-Cookie"))
    body = _card(app, a).get_data(as_text=True)
    assert "csrf" not in body.lower() and 'hx-boost' not in body  # the public layout: no token, no scripts
    assert "Sign out" not in body and "/c/" not in body  # and no company navigation
    # A signed-in visitor sees the same card, and their session is left as it was.
    member = login_as(a.admin)
    response = _card(app, a, member)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert a.company.name in response.get_data(as_text=True)


@pytest.mark.parametrize("slug", ["no-such-company", "COMPANY-A", "company-a-", "%00", "x" * 300])
def test_unknown_slugs_are_404_without_a_cookie(app, two_companies, slug):
    response = app.test_client().get(f"/p/{slug}/")
    assert response.status_code == 404 and "Set-Cookie" not in response.headers
    assert "does not exist" in response.get_data(as_text=True)


@pytest.mark.parametrize("how", ["suspended", "plan ended"])
def test_a_suspended_or_ended_company_has_no_public_card(app, two_companies, how):
    from saas.models import SubscriptionStatus
    from saas.tenancy import utcnow

    a, b = two_companies
    values = {"suspended_at": utcnow()} if how == "suspended" else {"subscription_status": SubscriptionStatus.CANCELED}
    _set_company(app, a, **values)
    assert _card(app, a).status_code == 404
    assert _card(app, b).status_code == 200


def test_an_expired_trial_keeps_its_public_card(app, two_companies):
    from datetime import timedelta

    from saas.tenancy import utcnow

    a, _ = two_companies
    _set_company(app, a, trial_ends_at=utcnow() - timedelta(days=1))
    assert _card(app, a).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_the_card_takes_only_get_and_head(app, two_companies, method):
    a, _ = two_companies
    response = app.test_client().open(f"/p/{a.company.slug}/", method=method, data={"name": "改名"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert "<html" in response.get_data(as_text=True) and "Set-Cookie" not in response.headers
    assert a.company.name in _card(app, a).get_data(as_text=True)


def test_the_profile_settings_link_to_the_public_card(app, two_companies, login_as):
    a, _ = two_companies
    body = login_as(a.admin).get(f"/c/{a.company.slug}/settings/profile").get_data(as_text=True)
    assert f"http://localhost/p/{a.company.slug}/" in body and 'data-copy="#public-page-link"' in body


def test_every_public_route_takes_get_only(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("public_company.")]
    assert rules and all(r.rule.startswith("/p/<company_slug>/") for r in rules)
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.endpoint


def test_with_csrf_checks_on_a_post_is_still_405_and_sets_no_cookie(app, db_urls, two_companies):
    from tests.conftest import make_test_app

    a, _ = two_companies
    strict = make_test_app(db_urls, WTF_CSRF_ENABLED=True)
    response = strict.test_client().post(f"/p/{a.company.slug}/", data={"name": "改名"})
    assert response.status_code == 405 and "Set-Cookie" not in response.headers
    assert strict.test_client().get(f"/p/{a.company.slug}/").status_code == 200
