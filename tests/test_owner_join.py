"""Owners join their company with a household code (房屋认证码) at /join/<company_slug>."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Company, Membership, Role, User
from saas.tenancy import company_context, utcnow
from tenants.roster.models import Household, HouseholdOwner
from tests.factories import PASSWORD

NEW_PHONE = "13711112222"


@pytest.fixture
def codes(app, two_companies):
    """Give every household of both companies a code; returns {household_id: code}."""
    from tenants.roster.codes import generate_household_code

    out = {}
    for world in two_companies:
        with app.app_context(), company_context(world.company.id):
            for h in db.session.execute(select(Household)).scalars():
                h.household_code = generate_household_code()
                out[h.id] = h.household_code
            db.session.commit()
    return out


def _join(client, world, code, phone=NEW_PHONE, password="owner-pass-1", **extra):
    return client.post(f"/join/{world.company.slug}",
                       data={"phone": phone, "password": password, "code": code, **extra})


def _user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _links(app, world, user_id):
    with app.app_context(), company_context(world.company.id):
        rows = db.session.execute(
            select(HouseholdOwner).join(Membership, Membership.id == HouseholdOwner.membership_id)
            .where(Membership.user_id == user_id)).scalars().all()
        db.session.expunge_all()
        return rows


def test_new_owner_joins_with_phone_password_and_code_and_sees_only_that_household(app, two_companies, codes):
    a, _ = two_companies
    hid = a.roster["households"][1]
    client = app.test_client()
    response = _join(client, a, codes[hid], name="王阿姨")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/c/{a.company.slug}/my")
    with app.app_context():
        user = db.session.execute(select(User).where(User.phone == NEW_PHONE)).scalar_one()
        assert user.name == "王阿姨"
    [link] = _links(app, a, user.id)
    assert link.household_id == hid and link.verified_at is not None and link.ended_at is None
    with app.app_context(), company_context(a.company.id):
        assert db.session.execute(select(Membership.role).where(Membership.user_id == user.id)).scalar_one() == \
            Role.OWNER
        mine = db.session.execute(select(Household).where(Household.id == hid)).scalar_one()
        others = db.session.execute(select(Household).where(Household.id != hid)).scalars().all()
        page = client.get(f"/c/{a.company.slug}/my").get_data(as_text=True)
        assert mine.room_label in page and mine.building.name in page
        for other in others:
            assert other.owner_name not in page
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == hid)).all()
        assert "owner.join" in actions
    assert client.get(f"/c/{a.company.slug}/households").status_code == 403
    # The new account signs in normally afterwards.
    assert app.test_client().post("/login", data={"login": NEW_PHONE, "password": "owner-pass-1"}).status_code == 303


def test_the_qr_code_link_prefills_the_household_code(app, two_companies, codes):
    a, _ = two_companies
    code = codes[a.roster["households"][1]]
    page = app.test_client().get(f"/join/{a.company.slug}?code={code.lower()}").get_data(as_text=True)
    assert f'value="{code}"' in page and a.company.name in page


def test_codes_are_forgiving_about_case_and_spaces(app, two_companies, codes):
    a, _ = two_companies
    code = codes[a.roster["households"][1]]
    assert _join(app.test_client(), a, f" {code[:4].lower()} {code[4:]} ").status_code == 303


def test_wrong_code_says_so_and_creates_nothing(app, two_companies, codes):
    a, _ = two_companies
    users = _user_count(app)
    response = _join(app.test_client(), a, "ZZZZZZZZ")
    assert response.status_code == 422
    assert "household code is not right" in response.get_data(as_text=True)
    assert _user_count(app) == users


def test_a_code_of_another_company_does_not_work(app, two_companies, codes):
    a, b = two_companies
    response = _join(app.test_client(), a, codes[b.roster["households"][0]])
    assert response.status_code == 422 and "not right" in response.get_data(as_text=True)


def test_a_deleted_households_code_does_not_work(app, two_companies, codes):
    a, _ = two_companies
    hid = a.roster["households"][1]
    with app.app_context(), company_context(a.company.id):
        db.session.execute(select(Household).where(Household.id == hid)).scalar_one().deleted_at = utcnow()
        db.session.commit()
    assert _join(app.test_client(), a, codes[hid]).status_code == 422


def test_sixth_wrong_code_for_a_phone_is_refused_even_when_right(app, two_companies, codes):
    a, _ = two_companies
    client = app.test_client()
    for _ in range(5):
        assert _join(client, a, "ZZZZZZZZ").status_code == 422
    response = _join(client, a, codes[a.roster["households"][1]])
    assert response.status_code == 429
    assert "Too many wrong household codes" in response.get_data(as_text=True)
    assert _user_count(app) == 10  # the two worlds' users only (5 roles each)
    # Another phone from another address is not affected.
    other = app.test_client()
    assert other.post(f"/join/{a.company.slug}", data={"phone": "13711113333", "password": "owner-pass-1",
                                                       "code": codes[a.roster["households"][1]]},
                      environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 303


def test_wrong_codes_from_one_address_are_limited_across_phones(app, two_companies, codes, monkeypatch):
    a, _ = two_companies
    monkeypatch.setitem(app.config, "OWNER_JOIN_IP_LIMIT", "3 per hour")
    client = app.test_client()
    for i in range(3):
        assert _join(client, a, "ZZZZZZZZ", phone=f"1371111000{i}").status_code == 422
    response = _join(client, a, codes[a.roster["households"][1]], phone="13711110009")
    assert response.status_code == 429


def test_right_codes_and_form_errors_do_not_count_as_wrong_codes(app, two_companies, codes):
    a, _ = two_companies
    client = app.test_client()
    for _ in range(6):
        assert _join(client, a, "").status_code == 422  # no code given: nothing was guessed
    assert _join(client, a, codes[a.roster["households"][1]]).status_code == 303


def test_existing_account_must_give_its_own_password(app, two_companies, codes):
    a, b = two_companies
    hid = a.roster["households"][1]
    response = _join(app.test_client(), a, codes[hid], phone=b.owner.phone, password="not-the-password")
    assert response.status_code == 422 and "not its password" in response.get_data(as_text=True)
    assert _links(app, a, b.owner.id) == []
    client = app.test_client()
    assert _join(client, a, codes[hid], phone=b.owner.phone, password=PASSWORD).status_code == 303
    [link] = _links(app, a, b.owner.id)
    assert link.household_id == hid
    assert client.get(f"/c/{a.company.slug}/my").status_code == 200
    assert client.get(f"/c/{b.company.slug}/my").status_code == 200  # still an owner in B too


def test_a_code_already_bound_to_this_owner_gets_a_friendly_message(app, two_companies, codes):
    a, _ = two_companies
    client = app.test_client()
    response = _join(client, a, codes[a.owner_household_id], phone=a.owner.phone, password=PASSWORD)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "already linked to your account" in page
    assert len(_links(app, a, a.owner.id)) == 1


def test_an_owner_can_add_a_second_household(app, two_companies, codes):
    a, _ = two_companies
    client = app.test_client()
    hid = a.roster["households"][3]
    assert _join(client, a, codes[hid], phone=a.owner.phone, password=PASSWORD).status_code == 303
    assert {link.household_id for link in _links(app, a, a.owner.id)} == {a.owner_household_id, hid}


def test_staff_accounts_are_not_turned_into_owners(app, two_companies, codes):
    a, _ = two_companies
    response = _join(app.test_client(), a, codes[a.roster["households"][1]], phone=a.steward.phone,
                     password=PASSWORD)
    assert response.status_code == 422 and "as staff" in response.get_data(as_text=True)
    assert _links(app, a, a.steward.id) == []


def test_new_accounts_need_a_password_of_ten_characters(app, two_companies, codes):
    a, _ = two_companies
    response = _join(app.test_client(), a, codes[a.roster["households"][1]], password="nine-char")
    assert response.status_code == 422 and "at least 10 characters" in response.get_data(as_text=True)
    assert _user_count(app) == 10


def test_bad_phone_numbers_are_refused_next_to_the_field(app, two_companies, codes):
    a, _ = two_companies
    response = _join(app.test_client(), a, codes[a.roster["households"][1]], phone="12345")
    assert response.status_code == 422 and "mainland mobile" in response.get_data(as_text=True)


def test_unknown_company_is_404(client):
    assert client.get("/join/no-such-company").status_code == 404
    assert client.post("/join/no-such-company", data={"phone": NEW_PHONE, "code": "X", "password": "y"}
                       ).status_code == 404


def test_a_read_only_company_takes_no_new_owners(app, two_companies, codes):
    a, _ = two_companies
    with app.app_context():
        db.session.get(Company, a.company.id).trial_ends_at = utcnow() - timedelta(days=1)
        db.session.commit()
    response = _join(app.test_client(), a, codes[a.roster["households"][1]])
    assert response.status_code == 403 and "cannot take new members" in response.get_data(as_text=True)
    assert _user_count(app) == 10


def test_a_new_owner_without_a_name_is_called_by_the_end_of_their_number(app, two_companies, codes):
    a, _ = two_companies
    assert _join(app.test_client(), a, codes[a.roster["households"][1]]).status_code == 303
    with app.app_context():
        assert db.session.execute(select(User.name).where(User.phone == NEW_PHONE)).scalar_one() == "Owner 2222"


def test_wrong_codes_at_one_company_do_not_lock_the_address_out_of_another(app, two_companies):
    """The per-address limit counts per company: a shared carrier address is not locked out platform-wide."""
    from tenants.members.owner_join import _count_wrong_code, too_many_wrong_codes

    a, b = two_companies
    with app.test_request_context("/"):
        for n in range(app.config.get("OWNER_JOIN_IP_LIMIT_COUNT", 25)):
            _count_wrong_code(f"139{n:08d}", "10.1.2.3", a.company.id)
        assert too_many_wrong_codes("13900000099", "10.1.2.3", a.company.id)
        assert not too_many_wrong_codes("13900000099", "10.1.2.3", b.company.id)


def test_exports_do_not_carry_usable_invitation_links():
    from tenants.exports.services import _redact_links

    body = "邀请您加入：http://127.0.0.1:5000/invite/AbC_12-xyz 7 天内有效"
    assert "AbC_12-xyz" not in _redact_links(body) and "/invite/…" in _redact_links(body)
