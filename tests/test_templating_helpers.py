"""The small HTML helpers of saas/templating.py that pages call per row: escaped as a template would escape."""

from __future__ import annotations

from markupsafe import Markup

from saas.templating import lazy_panel_body, option_tags


def test_a_lazy_panel_asks_its_url_on_first_opening_and_links_it_without_javascript():
    body = lazy_panel_body('/c/x/ratings/1/reply?a=1&b="2"', "Open <the> form")
    assert isinstance(body, Markup)
    url = "/c/x/ratings/1/reply?a=1&amp;b=&#34;2&#34;"
    assert body == (f'<div hx-get="{url}" hx-trigger="toggle from:closest details once" hx-swap="outerHTML">'
                    f'<a class="d-inline-block py-2" href="{url}">Open &lt;the&gt; form</a></div>')


def test_options_mark_the_chosen_value_compared_as_text_and_escape_labels():
    options = option_tags([(1, "A&B"), ("2", "<b>")], selected=2)
    assert options == '<option value="1">A&amp;B</option><option value="2" selected>&lt;b&gt;</option>'
    assert "selected" not in option_tags([(1, "a")])
