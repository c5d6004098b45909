"""Screen-reader labels: every aria-label in the templates is a translated phrase (never an English literal, which a
Chinese screen reader would read out in English), and no label hides what a sighted user sees, such as an unread
count. The colour and axe checks in a real browser are in tests/browser/test_accessibility_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from tests.factories import login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ARIA_LABEL = re.compile(r"""aria-label=(["'])(.*?)\1""", re.S)
EXPRESSION = re.compile(r"{{.*?}}", re.S)
# A link or button that names itself: its content is then invisible to screen readers.
LABELLED_CONTROL = re.compile(r"<(a|button)\b[^>]*\baria-label=[^>]*>(.*?)</\1>", re.S)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_an_untranslated_aria_label():
    literal = []
    for path in _templates():
        for match in ARIA_LABEL.finditer(path.read_text(encoding="utf-8")):
            # What is left outside {{ ... }} must be punctuation or spaces: words belong inside _() / a variable.
            rest = EXPRESSION.sub("", match.group(2))
            if re.search(r"[A-Za-z\u4e00-\u9fff]", rest):
                literal.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert not literal, "aria-label with untranslated text:\n" + "\n".join(literal)


def test_no_labelled_link_or_button_hides_a_count():
    hiding = []
    for path in _templates():
        for match in LABELLED_CONTROL.finditer(path.read_text(encoding="utf-8")):
            if "badge" in match.group(2):  # counts are shown as badges
                hiding.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)[:160]}")
    assert not hiding, "an aria-label hides a visible count:\n" + "\n".join(hiding)


class _InboxLink(HTMLParser):
    """The text a screen reader gets from the menu's notifications link (aria-hidden parts left out)."""

    def __init__(self, href: str):
        super().__init__()
        self.href, self.depth, self.hidden_depth = href, 0, None
        self.attrs: dict | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.attrs is None and tag == "a" and attrs.get("href") == self.href:
            self.attrs, self.depth = attrs, 1
            return
        if self.depth:
            self.depth += 1
            if attrs.get("aria-hidden") == "true" and self.hidden_depth is None:
                self.hidden_depth = self.depth

    def handle_endtag(self, tag):
        if self.depth:
            if self.hidden_depth == self.depth:
                self.hidden_depth = None
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.hidden_depth is None:
            self.text.append(data)


def test_the_menus_notifications_link_reads_out_the_unread_count(app, client, two_companies):
    from saas.extensions import db
    from saas.tenancy import company_context
    from tenants.inbox.models import Notification

    world = two_companies[0]
    with app.app_context(), company_context(world.company.id):
        for body in ("一", "二", "三"):
            db.session.add(Notification(user_id=world.admin.id, body=body))
        db.session.commit()
        unread = db.session.query(Notification).filter_by(user_id=world.admin.id, read_at=None).count()
    login(client, world.admin)
    html = client.get(f"/c/{world.company.slug}/").get_data(as_text=True)
    with app.test_request_context():
        from flask import g, url_for

        g.company = world.company
        href = url_for("company.inbox.index", company_slug=world.company.slug)
    link = _InboxLink(href)
    link.feed(html)
    assert link.attrs is not None, "no notifications link in the menu"
    assert "aria-label" not in link.attrs  # a label would replace the count
    name = " ".join("".join(link.text).split())
    assert f"{unread} unread" in name, name
