"""The public page cache (saas/public_cache.py): every kind of write that changes a public page draws it again, and
nothing else does (a draft, another company's write); the key carries the language and the day; 304 on a matching
ETag; a cached page is one statement; the cache stays within its bounds."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from saas.extensions import db


@contextmanager
def _as(app, world):
    from saas.tenancy import company_context

    with app.app_context(), company_context(world.company.id):
        yield
        db.session.remove()


def _token(app, world) -> int:
    from saas.models import Company

    with app.app_context():
        value = db.session.execute(select(Company.public_version).where(Company.id == world.company.id)).scalar_one()
        db.session.remove()
        return value


def _ratings_token(app) -> int:
    from saas.public_cache import RATINGS, platform_token

    with app.app_context():
        value = platform_token(RATINGS)[0]
        db.session.remove()
        return value


def _community_url(world) -> str:
    return f"/p/{world.company.slug}/disclosures/{world.ids['community_id']}"


def _page(client, url) -> tuple[str, str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.headers["ETag"], response.get_data(as_text=True)


def _admin_and_community(world):
    from saas.models import User
    from tenants.roster.models import Community

    return (db.session.get(User, world.admin.id),
            db.session.get(Community, (world.company.id, world.ids["community_id"])))


# --- disclosures: what moves the company's token ---------------------------------------------------------------


@pytest.mark.world("disclosures")
def test_publishing_draws_the_pages_again_and_drafting_does_not(app, two_companies, client):
    from tenants.disclosures import services

    a, b = two_companies
    url = _community_url(a)
    etag, page = _page(client, url)
    before, other = _token(app, a), _token(app, b)
    with _as(app, a):
        admin, community = _admin_and_community(a)
        draft = services.create_draft(community, kind="parking", title="车位出租公示", period_start=date(2026, 1, 1),
                                      period_end=date(2026, 6, 30), actor=admin)
        services.add_line(draft, label="车位出租收入", amount="4500", actor=admin)
        draft_id = draft.id
    assert _token(app, a) == before  # a draft is never shown: the cached page stays
    assert _page(client, url) == (etag, page)
    with _as(app, a):
        from tenants.disclosures.models import Publication

        admin, _ = _admin_and_community(a)
        services.publish(db.session.get(Publication, (a.company.id, draft_id)), actor=admin)
    assert _token(app, a) != before
    assert _token(app, b) == other  # another company's pages are not touched
    new_etag, new_page = _page(client, url)
    assert new_etag != etag and "车位出租公示" in new_page and "车位出租公示" not in page


@pytest.mark.world("disclosures")
def test_a_correction_and_an_answered_question_draw_the_pages_again(app, two_companies, client):
    from tenants.disclosures import services
    from tenants.disclosures.models import Objection, Publication

    a, _ = two_companies
    url = f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}/publications/{a.ids['publication_id']}"
    first = _page(client, url)
    with _as(app, a):
        admin, _ = _admin_and_community(a)
        pub = db.session.get(Publication, (a.company.id, a.ids["publication_id"]))
        correction = services.correct(pub, reason="更正广告收入", actor=admin)
        correction_id = correction.id
    assert _page(client, url) == first  # the correction is a draft until published
    with _as(app, a):
        admin, _ = _admin_and_community(a)
        services.publish(db.session.get(Publication, (a.company.id, correction_id)), actor=admin)
    # The old version is superseded now: its page says so.
    second = _page(client, url)
    assert second[0] != first[0] and second[1] != first[1]
    # A question raised and answered on the current version.
    new_url = f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}/publications/{correction_id}"
    before = _page(client, new_url)
    with _as(app, a):
        from saas.models import User
        from tenants.roster.models import Household

        admin, _ = _admin_and_community(a)
        owner = db.session.get(User, a.owner.id)
        line = services.lines_of(correction_id)[0]
        household = db.session.get(Household, (a.company.id, a.ids["household_id"]))
        objection = services.raise_objection(line, household=household, question="广告收入为何变化？", actor=owner)
        objection_id = objection.id
    asked = _page(client, new_url)
    assert asked[0] != before[0] and "广告收入为何变化" in asked[1]
    with _as(app, a):
        admin, _ = _admin_and_community(a)
        services.reply(db.session.get(Objection, (a.company.id, objection_id)), text="合同续签，价格上调。",
                       actor=admin)
    answered = _page(client, new_url)
    assert answered[0] != asked[0] and "合同续签" in answered[1]


@pytest.mark.world("disclosures")
def test_a_profile_edit_and_a_deleted_community_draw_the_card_again(app, two_companies, client):
    from saas.models import Company, User
    from tenants.onboarding import services as onboarding
    from tenants.roster import services as roster
    from tenants.roster.models import Community

    a, b = two_companies
    card = f"/p/{a.company.slug}/"
    first = _page(client, card)
    other = _token(app, b)
    with _as(app, a):
        company = db.session.get(Company, a.company.id)
        onboarding.update_profile(company, licence_number=company.licence_number, complaint_phone="12345",
                                  address=company.address, service_phone="400-800-1234",
                                  actor=db.session.get(User, a.admin.id))
    second = _page(client, card)
    assert second[0] != first[0] and "400-800-1234" in second[1]
    with _as(app, a):
        spare = Community(name="待删除小区")
        db.session.add(spare)
        db.session.commit()
        spare_id = spare.id
    third = _page(client, card)
    assert "待删除小区" in third[1]
    with _as(app, a):
        roster.delete_community(db.session.get(Community, (a.company.id, spare_id)),
                                actor=db.session.get(User, a.admin.id))
        db.session.commit()
    fourth = _page(client, card)
    assert fourth[0] != third[0] and "待删除小区" not in fourth[1]
    assert _token(app, b) == other


@pytest.mark.world("disclosures")
def test_a_bulk_statement_moves_the_token_of_the_current_company_only(app, two_companies, client):
    from tenants.roster.models import Community

    a, b = two_companies
    before, other = _token(app, a), _token(app, b)
    with _as(app, a):
        db.session.execute(update(Community).where(Community.id == a.ids["community_id"]).values(name="改名小区"))
        db.session.commit()
    assert _token(app, a) != before and _token(app, b) == other
    assert "改名小区" in _page(client, f"/p/{a.company.slug}/")[1]
    # A rolled-back write leaves the token (and so the cached pages) as they were.
    before = _token(app, a)
    with _as(app, a):
        db.session.execute(update(Community).where(Community.id == a.ids["community_id"]).values(name="不算"))
        db.session.rollback()
    assert _token(app, a) == before


# --- ratings: the platform token ---------------------------------------------------------------------------------


@pytest.mark.world("ratings")
def test_moderation_and_the_nightly_job_draw_the_list_pages_again(app, two_companies, client):
    from saas.models import User
    from saas.ratings import job, services
    from saas.ratings.models import OwnerRating

    a, _ = two_companies
    profile_url = f"/ratings/c/{a.company.slug}"
    first = _page(client, profile_url)
    assert "的服务还行" in first[1]
    before = _ratings_token(app)
    with app.app_context():
        admin = User(name="平台", phone="13999990000", password_hash="x", is_platform_admin=True)
        db.session.add(admin)
        db.session.flush()
        services.fold(db.session.get(OwnerRating, a.ids["rating_id"]), reason="与物业无关的内容", actor=admin)
        db.session.commit()
    assert _ratings_token(app) != before
    folded = _page(client, profile_url)
    assert folded[0] != first[0] and "与物业无关的内容" in folded[1]
    listing = _page(client, "/ratings/")
    before = _ratings_token(app)
    with app.app_context():
        job.run_all()
    assert _ratings_token(app) != before
    assert _page(client, "/ratings/")[0] != listing[0]


def test_a_list_page_is_dropped_when_its_first_entry_expires(app, client, monkeypatch):
    from saas import public_cache
    from saas.ratings.models import ListEntry
    from tests.world.ratings import seed_profiles

    seed_profiles(app, 6)
    first = _page(client, "/ratings/")
    with app.app_context():
        soonest = db.session.execute(select(ListEntry.expires_at).order_by(ListEntry.expires_at)).scalars().first()
    assert soonest is not None
    assert _page(client, "/ratings/") == first
    # At the moment the first entry expires the cached page is not served any more, though no row was written.
    monkeypatch.setattr(public_cache, "utcnow", lambda: soonest + timedelta(seconds=1))
    entry = next(iter(public_cache.pages._entries.values()))
    assert entry.valid_until is not None and public_cache.pages.get(entry.etag) is None


# --- the key, the headers, the statements -----------------------------------------------------------------------


@pytest.mark.world("disclosures")
def test_language_and_day_are_in_the_key(app, two_companies, monkeypatch):
    from saas import public_cache

    a, _ = two_companies
    url = _community_url(a)
    zh, en = app.test_client(), app.test_client()  # the tests' default language is English
    with zh.session_transaction() as session:
        session["lang"] = "zh_CN"
    zh_etag, zh_page = _page(zh, url)
    en_etag, en_page = _page(en, url)
    assert zh_etag != en_etag and zh_page != en_page
    assert _page(zh, url) == (zh_etag, zh_page)
    # The host too (the print view links to itself in full).
    print_url = url + "/print"
    here = en.get(print_url)
    there = en.get(print_url, base_url="https://elsewhere.example")
    assert here.headers["ETag"] != there.headers["ETag"] and "elsewhere.example" in there.get_data(as_text=True)
    real_today = public_cache.local_today
    monkeypatch.setattr(public_cache, "local_today", lambda now=None: real_today() + timedelta(days=1))
    assert _page(zh, url)[0] != zh_etag  # tomorrow's page (its "overdue" marks) is drawn anew


@pytest.mark.world("disclosures")
def test_arguments_a_page_does_not_read_find_the_same_page(app, two_companies, client):
    from saas import public_cache

    a, _ = two_companies
    url = _community_url(a)
    etag, page = _page(client, url)
    entries = len(public_cache.pages)
    # WeChat adds from=…&isappinstalled=0 to a shared link; junk must not fill the cache with copies.
    for n in range(5):
        assert _page(client, f"{url}?from=singlemessage&isappinstalled=0&x={n}") == (etag, page)
    assert len(public_cache.pages) == entries and "isappinstalled" not in page
    # The list reads city, q and week (in that order): those are pages of their own, the rest is not.
    list_etag, list_page = _page(client, "/ratings/")
    assert _page(client, "/ratings/?utm_source=x") == (list_etag, list_page)
    # An empty city is one of its own (companies with no city), not "all cities".
    assert _page(client, "/ratings/?city=&from=timeline")[0] == _page(client, "/ratings/?city=")[0] != list_etag
    searched_etag, searched = _page(client, "/ratings/?q=%E7%89%A9%E4%B8%9A&junk=1")
    assert searched_etag != list_etag and "junk" not in searched
    assert _page(client, "/ratings/?junk=2&q=%E7%89%A9%E4%B8%9A")[0] == searched_etag


@pytest.mark.world("disclosures")
def test_a_matching_etag_is_a_304_and_browsers_revalidate(app, two_companies, client, count_queries):
    a, _ = two_companies
    url = _community_url(a)
    response = client.get(url)
    etag = response.headers["ETag"].strip('"')
    assert response.headers["Cache-Control"] == "public, no-cache"
    assert "Cookie" in response.headers["Vary"]
    assert response.headers.get("Last-Modified")
    assert "Set-Cookie" not in response.headers
    with count_queries() as counter:
        again = client.get(url, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.get_data() == b"" and counter.count == 1
    # Flask-Compress's form of the tag ("<tag>:gzip") names the same page.
    assert client.get(url, headers={"If-None-Match": f'"{etag}:gzip"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


@pytest.mark.world("disclosures")
def test_a_cached_page_is_one_statement_and_is_compressed_once(app, two_companies, client, count_queries,
                                                              monkeypatch):
    import flask_compress.flask_compress as fc

    from saas import public_cache

    a, _ = two_companies
    urls = [_community_url(a), f"/p/{a.company.slug}/", f"/p/{a.company.slug}/disclosures/", "/ratings/",
            f"/ratings/c/{a.company.slug}"]
    for url in urls:
        assert client.get(url).status_code in (200, 404)
        with count_queries() as counter:
            response = client.get(url)
        if response.status_code == 200:
            assert counter.count == 1, (url, counter.statements)
    calls = []
    real = fc._compress_data
    monkeypatch.setattr(fc, "_compress_data", lambda app_, data, alg: calls.append(alg) or real(app_, data, alg))
    headers = {"Accept-Encoding": "gzip"}
    first = client.get(urls[0], headers=headers)
    second = client.get(urls[0], headers=headers)
    assert first.headers["Content-Encoding"] == "gzip" and second.get_data() == first.get_data()
    assert calls == ["gzip"]  # the second answer is the stored body
    entry = public_cache.pages.get(first.headers["ETag"].strip('"').split(":")[0])
    assert entry is not None and "gzip" in entry.compressed


def test_the_cache_keeps_to_its_bounds():
    from saas.public_cache import PageCache, _Entry

    cache = PageCache(max_entries=2, max_bytes=100)
    for n in range(3):
        cache.put(_Entry(b"x" * 10, f"e{n}", "text/html", None))
    assert len(cache) == 2 and cache.get("e0") is None and cache.get("e2") is not None
    cache.get("e1")  # used: now the newest
    cache.put(_Entry(b"y" * 60, "big", "text/html", None))
    assert cache.get("e2") is None and cache.get("e1") is not None and cache.bytes <= 100
    cache.put(_Entry(b"z" * 101, "too-big", "text/html", None))
    assert cache.get("too-big") is None
    cache.add_compressed("e1", "gzip", b"g" * 50)
    assert cache.bytes <= 100


# --- the company pages of disclosures and ratings: statements fixed as the data grows --------------------------


def _statements(count_queries, client, url) -> int:
    assert client.get(url).status_code == 200, url  # warm-up
    with count_queries() as counter:
        assert client.get(url).status_code == 200, url
    return counter.count


def _more_disclosures_and_ratings(app, world, n: int) -> None:
    import uuid

    from sqlalchemy import insert

    from saas.clock import local_today
    from saas.ratings.models import OwnerRating, RatingReply
    from saas.tenancy import new_id
    from tenants.disclosures import services

    with _as(app, world):
        admin, community = _admin_and_community(world)
        for k in range(n):
            start = date(2024, 1, 1) + timedelta(days=92 * k)
            pub = services.create_draft(community, kind="shared_energy", title=f"能耗分摊 {k}", period_start=start,
                                        period_end=start + timedelta(days=80), actor=admin)
            services.add_line(pub, label="公共照明", amount="300", actor=admin)
            services.publish(pub, actor=admin)
        rows = [{"id": new_id(), "company_id": world.company.id, "household_id": uuid.uuid4(),
                 "user_id": world.owner.id, "quarter_start": date(2026, 1, 1), "overall": 4, "repairs": 4,
                 "cleanliness": 4, "communication": 4, "fees": 4, "comment": f"评价 {k}",
                 "owner_since": local_today() - timedelta(days=400), "community_name": "某小区"}
                for k in range(n * 10)]
        db.session.execute(insert(OwnerRating), rows)
        db.session.execute(insert(RatingReply), [{"id": new_id(), "rating_id": r["id"], "company_id": world.company.id,
                                                  "version": 1, "body": "谢谢"} for r in rows[::2]])
        db.session.commit()


# The editor's community page: the company, the user with their membership (and the notifications badge's count), the
# community, its disclosure profile, the fee items and rates (the board preview), the community's publications (one
# read).
EDITOR_COMMUNITY_STATEMENTS = 7


@pytest.mark.world("disclosures", "ratings")
def test_company_pages_make_the_same_statements_with_more_data(app, two_companies, login_as, count_queries):
    a, _ = two_companies
    admin = login_as(a.admin)
    slug = a.company.slug
    urls = [f"/c/{slug}/disclosures/", f"/c/{slug}/disclosures/communities/{a.ids['community_id']}",
            f"/c/{slug}/disclosures/publications/{a.ids['publication_id']}", f"/c/{slug}/ratings/reviews"]
    _more_disclosures_and_ratings(app, a, 1)
    small = {url: _statements(count_queries, admin, url) for url in urls}
    _more_disclosures_and_ratings(app, a, 10)
    large = {url: _statements(count_queries, admin, url) for url in urls}
    assert large == small
    assert small[urls[1]] == EDITOR_COMMUNITY_STATEMENTS


def test_a_reviews_day_is_the_shanghai_day(app):
    from datetime import UTC, datetime

    with app.test_request_context("/"):
        local_day = app.jinja_env.filters["local_day"]
        assert local_day(datetime(2026, 3, 31, 17, 0, tzinfo=UTC)) == "2026-04-01"  # 01:00 in Shanghai
        assert local_day(datetime(2026, 3, 31, 15, 59)) == "2026-03-31"  # naive UTC, as SQLite hands it back
        assert local_day(None) == ""
