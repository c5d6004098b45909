"""Lazily translated strings that are text, not markup. Import ``_l`` from here, never from flask_babel.

Flask-Babel's ``LazyString.__html__`` returns the string unchanged, so Jinja, WTForms and markupsafe treat a lazy
message as safe HTML: ``_l("The photo “%(name)s” is empty.", name=filename)`` put a visitor's file name into the
page as markup (an injected ``hx-get`` would fire with the page's CSRF header). Flask's session serializer keeps
anything with ``__html__`` as Markup too, so a flashed lazy message stayed "safe" on the next page.

Here ``__html__`` escapes the whole translated text. No message of the app contains markup of its own (a template
that wants a link around a message builds it in the template). The keyword stays ``_l``, so babel.cfg's
extraction (``pybabel extract -k _l``) finds these messages as before.
"""

from __future__ import annotations

from functools import cached_property

import flask_babel
from babel import support
from flask.globals import _cv_app
from flask_babel import ngettext, pgettext
from flask_babel.speaklater import LazyString
from jinja2 import pass_context
from markupsafe import Markup, escape

__all__ = ["Babel", "TextLazyString", "_l", "lazy_gettext", "lazy_ngettext", "lazy_pgettext"]


class RequestCachedDomain(flask_babel.Domain):
    """Flask-Babel's message domain, with the request's translations found once per request.

    Flask-Babel looks them up on every ``gettext``: the request context twice, the locale, its identifier as a
    string, then a dict (about 15 µs; a list page translates hundreds of labels). Here the answer is kept on the
    request's Babel namespace with the locale object it was found for, so ``force_locale`` (which swaps that
    object, e.g. to write a message in its recipient's language) and ``refresh`` (which drops it) still change it.
    """

    def get_translations(self):
        ctx = flask_babel._get_current_context()
        if ctx is None:
            return support.NullTranslations()
        cached = getattr(ctx, "gj_translations", None)
        if cached is not None and cached[0] is getattr(ctx, "babel_locale", None) and cached[1] is self:
            return cached[2]
        translations = super().get_translations()  # sets ctx.babel_locale on the way
        ctx.gj_translations = (getattr(ctx, "babel_locale", None), self, translations)
        return translations


class Babel(flask_babel.Babel):
    """Flask-Babel with the request-cached domain as its default domain, and templates' ``_``, ``gettext`` and
    ``ngettext`` that find the request's translations directly."""

    @cached_property
    def domain_instance(self):
        return RequestCachedDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        if self._configure_jinja:
            app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext,
                                         ngettext=_template_ngettext)


def _request_translations():
    """The translations of this request, as ``RequestCachedDomain`` keeps them; Flask-Babel's own lookup the first
    time in a request, or when the locale or domain changed since."""
    app_context = _cv_app.get(None)
    namespace = app_context.g.__dict__.get("_flask_babel") if app_context is not None else None
    cached = getattr(namespace, "gj_translations", None)
    if (cached is not None and cached[0] is getattr(namespace, "babel_locale", None)
            and cached[1] is getattr(namespace, "babel_domain", None)):
        return cached[2]
    return flask_babel.get_translations()


# What Jinja's newstyle gettext does (``install_gettext_callables(newstyle=True)``, as Flask-Babel installs it),
# in one call instead of three: Jinja's wrapper calls Flask-Babel's, which looks up the request context, the
# domain and the translations each time (about 15 µs; a page has a hundred or more labels). The same answer:
# Markup under autoescape with the variables escaped into it, and always treated as a format string ("%%" is "%").
@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    text = _request_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables if variables or "%" in text else text


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    text = _request_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


class TextLazyString(LazyString):
    """A lazy translation that is escaped as a whole when it meets HTML."""

    def __html__(self) -> Markup:
        return escape(str(self))


def _fast_gettext(string: str, **variables) -> str:
    """Flask-Babel's gettext (the same answer), with the request's translations found directly: a lazy label is
    made into text each time it is shown, a hundred times on some pages."""
    text = _request_translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> TextLazyString:
    return TextLazyString(_fast_gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> TextLazyString:
    return TextLazyString(ngettext, singular, plural, num, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> TextLazyString:
    return TextLazyString(pgettext, context, string, **variables)


_l = lazy_gettext
