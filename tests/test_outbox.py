"""The notifications outbox page, and real e-mail delivery through SMTP when it is configured."""

from __future__ import annotations

import re
import socketserver
import threading
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from saas.extensions import db
from saas.notifications.models import Channel, DeliveryStatus
from saas.notifications.services import deliver, queue_message
from saas.tenancy import company_context, utcnow
from tests.conftest import make_test_app
from tests.factories import invitation_messages as _messages


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ready")
        envelope = {"from": None, "to": []}
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope = {"from": command.split(":", 1)[1].strip(), "to": []}
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(command.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b".\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.received.append({**envelope, "data": b"".join(lines)})
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@contextmanager
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()




def test_invitation_e_mail_is_really_sent_through_smtp_when_configured(app, two_companies, login_as, monkeypatch):
    a, _ = two_companies
    with smtp_sink() as sink:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", sink.server_address[1])
        monkeypatch.setitem(app.config, "SMTP_FROM", "noreply@guanjia.test")
        response = login_as(a.admin).post(f"/c/{a.company.slug}/members/invitations",
                                          data={"name": "孙师傅", "role": "technician", "email": "sun@example.com"})
        assert response.status_code == 303
    [message] = _messages(app, a)
    assert message.status == DeliveryStatus.SENT and message.sent_at is not None
    [mail] = sink.received
    assert mail["to"] == ["<sun@example.com>"] and mail["from"] == "<noreply@guanjia.test>"
    parsed = message_from_bytes(mail["data"])
    assert a.company.name in str(make_header(decode_header(parsed["Subject"])))
    assert "/invite/" in parsed.get_payload(decode=True).decode(parsed.get_content_charset())


def test_without_smtp_e_mail_and_sms_stay_in_the_outbox(app, two_companies, login_as):
    a, _ = two_companies
    assert not app.config["SMTP_HOST"]
    admin = login_as(a.admin)
    admin.post(f"/c/{a.company.slug}/members/invitations",
               data={"name": "孙师傅", "role": "technician", "email": "sun@example.com", "phone": "13611112222"})
    messages = _messages(app, a)
    assert {m.channel for m in messages} == {Channel.SMS, Channel.EMAIL}
    assert {m.status for m in messages} == {DeliveryStatus.OUTBOX_ONLY}
    page = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert "outbox only" in page and "sun@example.com" in page and "13611112222" in page


def test_sms_is_never_sent_by_smtp(app, two_companies, monkeypatch):
    a, _ = two_companies
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    with app.test_request_context(), company_context(a.company.id):
        message = queue_message(channel=Channel.SMS, recipient="13611112222", body="hi", kind="test")
        db.session.commit()
        assert message.status == DeliveryStatus.OUTBOX_ONLY


def test_an_unreachable_mail_server_marks_the_message_failed_with_the_reason(app, two_companies, login_as,
                                                                             monkeypatch):
    a, _ = two_companies
    with smtp_sink() as sink:
        port = sink.server_address[1]
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)  # closed again: connection refused
    admin = login_as(a.admin)
    response = admin.post(f"/c/{a.company.slug}/members/invitations",
                          data={"name": "孙师傅", "role": "technician", "email": "sun@example.com"})
    assert response.status_code == 303  # the invitation itself is saved
    [message] = _messages(app, a)
    assert message.status == DeliveryStatus.FAILED and "Connection" in message.error
    page = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert "Failed" in page and "Connection" in page


def test_outbox_lists_newest_first_and_pages(app, two_companies, login_as):
    a, b = two_companies
    with app.test_request_context(), company_context(a.company.id):
        for i in range(25):
            m = queue_message(channel=Channel.SMS, recipient=f"136000000{i:02d}", body=f"消息{i:02d}", kind="test")
            m.created_at = utcnow() - timedelta(minutes=100 - i)
        db.session.commit()
    with app.test_request_context(), company_context(b.company.id):
        queue_message(channel=Channel.SMS, recipient="13900000000", body="乙公司的消息", kind="test")
        db.session.commit()
    admin = login_as(a.admin)
    first = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert first.index("消息24") < first.index("消息23")
    assert "消息04" not in first and "乙公司的消息" not in first
    second = admin.get(f"/c/{a.company.slug}/outbox?page=2").get_data(as_text=True)
    assert "消息04" in second and "消息00" in second and "消息24" not in second
    partial = admin.get(f"/c/{a.company.slug}/outbox?page=2",
                        headers={"HX-Request": "true", "HX-Target": "messages"}).get_data(as_text=True)
    assert "<html" not in partial and "消息00" in partial
    boosted = admin.get(f"/c/{a.company.slug}/outbox", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    email_only = admin.get(f"/c/{a.company.slug}/outbox?channel=email").get_data(as_text=True)
    assert "消息" not in email_only and "No messages yet" in email_only


def test_links_in_messages_are_clickable_and_bodies_are_escaped(app, two_companies, login_as):
    a, _ = two_companies
    with app.test_request_context(), company_context(a.company.id):
        queue_message(channel=Channel.SMS, recipient="13611112222", kind="test",
                      body="<script>x</script> open http://127.0.0.1:5000/invite/abc")
        db.session.commit()
    page = login_as(a.admin).get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert 'href="http://127.0.0.1:5000/invite/abc"' in page


def test_outbox_is_for_admins_only(app, two_companies, login_as):
    a, _ = two_companies
    for user in (a.steward, a.technician, a.owner):
        assert login_as(user).get(f"/c/{a.company.slug}/outbox").status_code == 403
    assert login_as(a.admin).get(f"/c/{a.company.slug}/outbox").status_code == 200


def test_delivery_is_idempotent(app, two_companies, monkeypatch):
    a, _ = two_companies
    with smtp_sink() as sink:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", sink.server_address[1])
        with app.test_request_context(), company_context(a.company.id):
            message = queue_message(channel=Channel.EMAIL, recipient="x@example.com", subject="s", body="b",
                                    kind="test")
            db.session.commit()
            message_id = message.id
            assert deliver(message_id) == DeliveryStatus.SENT
            db.session.expire_all()
            assert deliver(message_id) == DeliveryStatus.SENT  # a retried job: already sent, nothing more
    assert len(sink.received) == 1


# --- links on a phone: tappable, copyable, never glued to the text -----------------------------------------


def _queue(app, world, body: str) -> str:
    with app.test_request_context(), company_context(world.company.id):
        message = queue_message(channel=Channel.SMS, recipient="13611112222", kind="test", body=body)
        db.session.commit()
        return str(message.id)


def test_a_link_glued_to_chinese_text_is_a_real_link_with_a_copy_button(app, two_companies, login_as):
    a, _ = two_companies
    url = "http://127.0.0.1:5000/invite/abc_DEF-123"
    message_id = _queue(app, a, f"王师傅，您好！请在 7 天内打开链接接受邀请：{url}。")
    admin = login_as(a.admin)
    page = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    link_id = f"message-{message_id}-link-1"
    # The link stops at the full-width full stop and carries the id its copy button points at.
    assert re.search(rf'<a href="{re.escape(url)}" id="{link_id}"[^>]*>{re.escape(url)}</a>。', page)
    button = re.search(rf'<button[^>]*type="button"[^>]*data-copy="#{link_id}"[^>]*>([^<]*)</button>', page)
    assert button and button.group(1) == "Copy link"
    assert re.search(rf'data-copy="#message-{message_id}-body"', page)  # and the whole message, for WeChat
    # The copying is done by the app's own script file (the CSP forbids inline script).
    script = re.search(r'<script src="([^"]*js/copy\.js[^"]*)"', page)
    assert script and admin.get(script.group(1)).status_code == 200
    assert "<script>" not in page and " onclick=" not in page
    # A message without a link has no copy buttons.
    _queue(app, a, "没有链接的消息")
    page = admin.get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    assert page.count('data-copy="#message-') == 2


def test_links_are_found_after_escaping_so_markup_in_a_body_stays_text(app, two_companies, login_as):
    a, _ = two_companies
    _queue(app, a, 'see http://x.test/a?b=1&c=2"><img src=x onerror=alert(1)> javascript:alert(1) '
                   "<a href='http://evil.test'>x</a>\nline two")
    page = login_as(a.admin).get(f"/c/{a.company.slug}/outbox").get_data(as_text=True)
    body = page[page.index('-body">'):]
    body = body[:body.index("</p>")]
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert '<a href="http://x.test/a?b=1&amp;c=2"' in body  # the quote ends the link
    assert "<a href='http" not in body and "javascript:alert(1)</a>" not in body
    assert re.findall(r'<a href="([^"]+)"', body) == ["http://x.test/a?b=1&amp;c=2", "http://evil.test"]
    assert "<br>" in body and "line two" in body


# Placeholders that carry a link in the texts sent to people (SMS and e-mail bodies).
_LINK_PLACEHOLDER = re.compile(r"%\((?:\w*_)?(?:link|url)\)s")


def test_every_message_text_keeps_whitespace_before_its_link():
    """A phone's SMS app (and the outbox) finds a link by the space before it: "接受邀请：http://…" is one word."""
    path = Path(__file__).resolve().parent.parent / "translations/zh/LC_MESSAGES/messages.po"
    with path.open("rb") as f:
        catalog = read_po(f)
    checked = 0
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not _LINK_PLACEHOLDER.search(message.id):
            continue
        for text in (message.id, message.string):
            for match in _LINK_PLACEHOLDER.finditer(text or ""):
                before = text[:match.start()]
                assert not before or before[-1].isspace(), f"glued link in {text!r}"
        checked += 1
    assert checked >= 3  # the invitation (SMS, e-mail) and the trial reminders at least


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_invitation_sms_and_trial_reminder_put_a_space_before_the_link(db_urls, two_companies, locale):
    from saas import trial
    from tests.factories import login

    a, _ = two_companies
    app = make_test_app(db_urls, BABEL_DEFAULT_LOCALE=locale)
    client = login(app.test_client(), a.admin)
    client.post(f"/c/{a.company.slug}/members/invitations",
                data={"name": "孙师傅", "role": "technician", "phone": "13611112222", "email": "sun@example.com"})
    bodies = [m.body for m in _messages(app, a)]
    with app.test_request_context():
        company = db.session.get(type(a.company), a.company.id)
        bodies += [trial._sms_text(company, 3, utcnow() + timedelta(days=3)),
                   trial._email_text(company, "王经理", 3, utcnow() + timedelta(days=3))]
    assert len(bodies) == 4
    for body in bodies:
        assert re.search(r"\shttps?://", body), body
        assert not re.search(r"\Shttps?://", body), body
    if locale == "zh_CN":
        assert "邀请" in bodies[0]
