"""The words of a review card (templates/ratings/_review.html), translated once per request rather than once per
review: a page of 50 reviews otherwise looks each up 50 times (a gettext call costs about 30 µs in a template)."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from saas.ratings.models import DIMENSION_LABELS, DIMENSIONS


def review_texts() -> dict:
    """Plain strings; the ones with a placeholder are %-formats the template fills per review (``|format``), and
    the whole result is escaped when shown, as a translated string with escaped values would be."""
    texts = g.get("_review_texts")
    if texts is None:
        texts = g._review_texts = {
            "stars": _("%(stars)s of 5", stars="%(stars)s"), "overall": _("Overall"),
            "owner_since": _("Verified owner since %(month)s, %(community)s", month="%(month)s",
                             community="%(community)s"),
            "not_counted": _("Not counted in the score"),
            "hidden": _("This review is hidden while the platform checks a report that it contains personal data."),
            "folded": _("Folded by the platform: %(reason)s", reason="%(reason)s"),
            "reply_from": _("Reply from the company"), "edited": _("edited"), "report": _("Report this review"),
            # the company's own page (templates/tenants/ratings/reviews.html)
            "edit_reply": _("Edit your reply"), "reply_publicly": _("Reply publicly"), "reply": _("Reply"),
            "publish_reply": _("Publish the reply"), "appeal_review": _("Appeal this review"),
            "why_wrong": _("Why it is wrong"), "evidence": _("Your evidence"), "file_appeal": _("File the appeal"),
            "open_form": _("Open the form"),
            "dimensions": [(d, str(DIMENSION_LABELS[d])) for d in DIMENSIONS],
        }
    return texts
