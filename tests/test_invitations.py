"""Staff invitations: invite by phone or e-mail, accept through a single-use link, resend, withdraw."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEvent, Membership, Role, User
from saas.notifications.models import Channel
from saas.tenancy import all_companies, company_context, utcnow
from tenants.members.models import Invitation
from tests.factories import PASSWORD, login
from tests.factories import invitation_messages as _messages

HX = {"HX-Request": "true"}
NEW_PHONE = "13611112222"


def _invite(client, world, **data):
    payload = {"name": "孙师傅", "role": "steward", "phone": NEW_PHONE, "email": ""}
    payload.update(data)
    return client.post(f"/c/{world.company.slug}/members/invitations", data=payload)




def _token(message) -> str:
    return re.search(r"/invite/([A-Za-z0-9_-]+)", message.body).group(1)


def _invitation(app, world, **where):
    with app.app_context(), company_context(world.company.id):
        inv = db.session.execute(select(Invitation).filter_by(**where)).scalar_one()
        db.session.expunge_all()
        return inv


def _actions(app, world) -> list[str]:
    with app.app_context(), company_context(world.company.id):
        return list(db.session.scalars(select(AuditEvent.action)))


def test_invited_steward_gets_a_link_accepts_with_a_new_account_and_signs_in_with_that_role(
        app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    response = _invite(admin, a)
    assert response.status_code == 303
    [message] = _messages(app, a)
    assert message.channel == Channel.SMS and message.recipient == NEW_PHONE and message.kind == "invitation"
    link = re.search(r"https?://\S+/invite/[A-Za-z0-9_-]+", message.body).group(0)
    assert link.startswith(app.config["PUBLIC_BASE_URL"] + "/invite/")
    outbox = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert link in outbox and NEW_PHONE in outbox

    visitor = app.test_client()
    page = visitor.get(f"/invite/{_token(message)}").get_data(as_text=True)
    assert a.company.name in page and "Steward" in page
    response = visitor.post(f"/invite/{_token(message)}",
                            data={"name": "孙师傅", "password": "new-pass-123", "confirm": "new-pass-123"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{a.company.slug}/")
    assert visitor.get(f"/c/{a.company.slug}/steward").status_code == 200  # signed in, as a steward

    fresh = app.test_client()
    assert fresh.post("/login", data={"login": NEW_PHONE, "password": "new-pass-123"}).status_code == 303
    assert fresh.get(f"/c/{a.company.slug}/steward").status_code == 200
    assert fresh.get(f"/c/{a.company.slug}/members").status_code == 403
    inv = _invitation(app, a, phone=NEW_PHONE)
    assert inv.accepted_at is not None and inv.accepted_user_id is not None
    assert {"invitation.create", "invitation.accept", "membership.create"} <= set(_actions(app, a))


def test_only_a_hash_of_the_token_is_stored(app, two_companies, login_as):
    a, _ = two_companies
    _invite(login_as(a.admin), a)
    token = _token(_messages(app, a)[0])
    inv = _invitation(app, a, phone=NEW_PHONE)
    assert token not in inv.token_hash and len(inv.token_hash) == 64
    assert inv.expires_at.replace(tzinfo=None) > (utcnow() + timedelta(days=6, hours=23)).replace(tzinfo=None)


def test_existing_account_accepts_with_its_password_and_keeps_its_other_company(app, two_companies, login_as):
    a, b = two_companies
    _invite(login_as(a.admin), a, phone=b.steward.phone, role="technician")
    token = _token(_messages(app, a)[0])
    visitor = app.test_client()
    page = visitor.get(f"/invite/{token}").get_data(as_text=True)
    assert "already have an account" in page
    wrong = visitor.post(f"/invite/{token}", data={"password": "not-the-password"})
    assert wrong.status_code == 422 and "not the password" in wrong.get_data(as_text=True)
    assert _invitation(app, a, phone=b.steward.phone).accepted_at is None
    assert visitor.post(f"/invite/{token}", data={"password": PASSWORD}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        m = db.session.execute(select(Membership).where(Membership.user_id == b.steward.id)).scalar_one()
        assert m.role == Role.TECHNICIAN
    body = login(app.test_client(), b.steward).get("/home").get_data(as_text=True)
    assert a.company.name in body and b.company.name in body


def test_used_expired_withdrawn_and_garbage_links_say_why_and_change_nothing(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    for i, phone in enumerate(("13611110001", "13611110002", "13611110003")):
        _invite(admin, a, phone=phone, name=f"人{i}")
    used, expired, withdrawn = (_token(m) for m in _messages(app, a))
    visitor = app.test_client()
    assert visitor.post(f"/invite/{used}", data={"name": "x", "password": "new-pass-123",
                                                 "confirm": "new-pass-123"}).status_code == 303
    with app.app_context(), company_context(a.company.id):
        db.session.execute(select(Invitation).where(Invitation.phone == "13611110002")).scalar_one().expires_at = (
            utcnow() - timedelta(minutes=1))
        db.session.commit()
    inv = _invitation(app, a, phone="13611110003")
    admin.post(f"/c/{a.company.slug}/members/invitations/{inv.id}/revoke")

    cases = [(used, 410, "already been used"), (expired, 410, "expired"), (withdrawn, 410, "withdrawn"),
             ("garbage-token", 404, "not valid"), ("x" * 300, 404, "not valid")]
    for token, status, message in cases:
        for method in ("GET", "POST"):
            response = app.test_client().open(f"/invite/{token}", method=method,
                                              data={"name": "y", "password": "new-pass-123",
                                                    "confirm": "new-pass-123"})
            assert response.status_code == status, (token, method)
            assert message in response.get_data(as_text=True), (token, method)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(
            User.phone.in_(["13611110002", "13611110003"]))) == 0


def test_the_second_use_of_a_link_is_refused(app, two_companies, login_as):
    a, _ = two_companies
    _invite(login_as(a.admin), a)
    token = _token(_messages(app, a)[0])
    data = {"name": "x", "password": "new-pass-123", "confirm": "new-pass-123"}
    assert app.test_client().post(f"/invite/{token}", data=data).status_code == 303
    second = app.test_client().post(f"/invite/{token}", data=data)
    assert second.status_code == 410 and "already been used" in second.get_data(as_text=True)
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 6  # 5 from the world + 1


def test_resending_sends_a_new_link_and_kills_the_old_one(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    _invite(admin, a)
    old = _token(_messages(app, a)[0])
    inv = _invitation(app, a, phone=NEW_PHONE)
    assert admin.post(f"/c/{a.company.slug}/members/invitations/{inv.id}/resend").status_code == 303
    messages = _messages(app, a)
    assert len(messages) == 2
    new = _token(messages[1])
    assert new != old
    assert app.test_client().get(f"/invite/{old}").status_code == 404
    assert app.test_client().get(f"/invite/{new}").status_code == 200
    assert "invitation.resend" in _actions(app, a)


def test_an_expired_invitation_can_be_resent_for_another_week(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    _invite(admin, a)
    with app.app_context(), company_context(a.company.id):
        inv = db.session.execute(select(Invitation).where(Invitation.phone == NEW_PHONE)).scalar_one()
        inv.expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
        inv_id = inv.id
    listing = admin.get(f"/c/{a.company.slug}/members/invitations?status=expired").get_data(as_text=True)
    assert "孙师傅" in listing
    admin.post(f"/c/{a.company.slug}/members/invitations/{inv_id}/resend")
    token = _token(_messages(app, a)[-1])
    assert app.test_client().get(f"/invite/{token}").status_code == 200


def test_withdrawn_or_accepted_invitations_cannot_be_resent(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    _invite(admin, a)
    inv = _invitation(app, a, phone=NEW_PHONE)
    admin.post(f"/c/{a.company.slug}/members/invitations/{inv.id}/revoke")
    response = admin.post(f"/c/{a.company.slug}/members/invitations/{inv.id}/resend", follow_redirects=True)
    assert "withdrawn" in response.get_data(as_text=True)
    assert len(_messages(app, a)) == 1
    assert set(_actions(app, a)) >= {"invitation.create", "invitation.revoke"}
    assert "invitation.resend" not in _actions(app, a)


def test_invitation_by_email_goes_to_the_email_outbox(app, two_companies, login_as):
    a, _ = two_companies
    response = _invite(login_as(a.admin), a, phone="", email="Sun@Example.com")
    assert response.status_code == 303
    [message] = _messages(app, a)
    assert message.channel == Channel.EMAIL and message.recipient == "sun@example.com"
    assert a.company.name in message.subject
    visitor = app.test_client()
    data = {"name": "孙", "password": "new-pass-123", "confirm": "new-pass-123"}
    assert visitor.post(f"/invite/{_token(message)}", data=data).status_code == 303
    assert app.test_client().post("/login", data={"login": "sun@example.com",
                                                  "password": "new-pass-123"}).status_code == 303


def test_inviting_validates_and_changes_nothing_on_error(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    _invite(admin, a, phone="13611119999")
    cases = [
        ({"name": ""}, "Enter a name"),
        ({"phone": "1361111"}, "mainland mobile"),
        ({"phone": "", "email": ""}, "mobile number or an e-mail"),
        ({"phone": "", "email": "not-an-email"}, "valid e-mail"),
        ({"role": "owner"}, "Not a valid choice"),
        ({"phone": a.steward.phone}, "already a member"),
        ({"phone": "13611119999"}, "still pending"),
    ]
    for data, message in cases:
        payload = {"name": "x", "role": "steward", "phone": NEW_PHONE, "email": "", **data}
        response = admin.post(f"/c/{a.company.slug}/members/invitations", data=payload, headers=HX)
        assert response.status_code == 422, data
        body = response.get_data(as_text=True)
        assert message in body, (data, message)
        assert "<html" not in body
    with app.app_context(), company_context(a.company.id):
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2  # the world's + the first
    assert len(_messages(app, a)) == 1


def test_htmx_invite_redirects_the_whole_page_on_success(app, two_companies, login_as):
    a, _ = two_companies
    response = login_as(a.admin).post(f"/c/{a.company.slug}/members/invitations",
                                      data={"name": "x", "role": "technician", "phone": NEW_PHONE}, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith("/members/invitations")


def test_accepting_validates_the_new_password(app, two_companies, login_as):
    a, _ = two_companies
    _invite(login_as(a.admin), a)
    token = _token(_messages(app, a)[0])
    client = app.test_client()
    # Nine characters: enough under the old invitation rule (8), short of the one rule for every password (10).
    short = client.post(f"/invite/{token}", data={"name": "x", "password": "nine-char", "confirm": "nine-char"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    mismatch = client.post(f"/invite/{token}", data={"name": "x", "password": "long-pass-1",
                                                     "confirm": "long-pass-2"})
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    assert _invitation(app, a, phone=NEW_PHONE).accepted_at is None
    with app.app_context():
        assert db.session.execute(select(User).where(User.phone == NEW_PHONE)).scalar_one_or_none() is None


def test_a_token_of_company_a_only_ever_joins_company_a(app, two_companies, login_as):
    a, b = two_companies
    _invite(login_as(a.admin), a, role="admin")
    token = _token(_messages(app, a)[0])
    client = app.test_client()
    client.post(f"/invite/{token}", data={"name": "x", "password": "new-pass-123", "confirm": "new-pass-123"})
    with app.app_context():
        user = db.session.execute(select(User).where(User.phone == NEW_PHONE)).scalar_one()
        with all_companies("test: where did the invitee land"):
            memberships = db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalars().all()
        assert [(m.company_id, m.role) for m in memberships] == [(a.company.id, Role.ADMIN)]
    assert client.get(f"/c/{b.company.slug}/").status_code == 404
    assert client.get(f"/c/{a.company.slug}/members").status_code == 200


def test_an_admin_of_another_company_cannot_see_resend_or_withdraw_invitations(app, two_companies, login_as):
    a, b = two_companies
    inv_id = a.ids["invitation_id"]
    other = login_as(b.admin)
    assert other.post(f"/c/{b.company.slug}/members/invitations/{inv_id}/resend").status_code == 404
    assert other.post(f"/c/{b.company.slug}/members/invitations/{inv_id}/revoke").status_code == 404
    assert "company-a-invitee" not in other.get(f"/c/{b.company.slug}/members/invitations?status=all").get_data(as_text=True)
    assert _invitation(app, a, id=inv_id).revoked_at is None


def test_only_admins_manage_invitations(app, two_companies, login_as):
    a, _ = two_companies
    inv_id = a.ids["invitation_id"]
    for user in (a.steward, a.technician, a.owner):
        client = login_as(user)
        assert client.get(f"/c/{a.company.slug}/members/invitations").status_code == 403
        assert _invite(client, a).status_code == 403
        assert client.post(f"/c/{a.company.slug}/members/invitations/{inv_id}/resend").status_code == 403
        assert client.post(f"/c/{a.company.slug}/members/invitations/{inv_id}/revoke").status_code == 403
    assert _invitation(app, a, id=inv_id).revoked_at is None


def test_invitations_list_filters_by_status(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    _invite(admin, a, name="甲待定", phone="13611110001")
    _invite(admin, a, name="乙撤回", phone="13611110002")
    admin.post(f"/c/{a.company.slug}/members/invitations/{_invitation(app, a, phone='13611110002').id}/revoke")
    admin.get(f"/c/{a.company.slug}/members")  # shows (and so clears) the flashed messages
    pending = admin.get(f"/c/{a.company.slug}/members/invitations").get_data(as_text=True)
    assert "甲待定" in pending and "乙撤回" not in pending
    revoked = admin.get(f"/c/{a.company.slug}/members/invitations?status=revoked").get_data(as_text=True)
    assert "乙撤回" in revoked and "甲待定" not in revoked
    everything = admin.get(f"/c/{a.company.slug}/members/invitations?status=nonsense").get_data(as_text=True)
    assert "甲待定" in everything and "乙撤回" in everything
    assert "2 pending invitations" in admin.get(f"/c/{a.company.slug}/members").get_data(as_text=True)  # + world's
