"""Company URL slugs (/c/<slug>/): proposed from the company name in pinyin, checked for form and uniqueness.

红山物业 → hongshan-wuye; 天山物业服务有限公司 → tianshan-wuye-fuwu. The core of the name becomes one word;
the trade words at its end (物业, 服务, 管理, …) become separate words; legal-form words (有限公司, 公司, 集团, …)
are dropped, since nearly every company has them and they only make the address longer.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin
from sqlalchemy import func, select

from saas.i18n import _l

MIN_LENGTH = 3
MAX_LENGTH = 63
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Paths at the top of the site and names that would confuse people (or phishing pages) if they were a company.
RESERVED = frozenset({
    "about", "account", "accounts", "admin", "administrator", "api", "app", "assets", "auth", "billing", "blog",
    "c", "company", "companies", "contact", "dashboard", "docs", "download", "downloads", "export", "exports",
    "faq", "guanjia", "healthz", "help", "home", "import", "imports", "invitation", "invitations", "invite",
    "join", "lang", "legal", "login", "logout", "mail", "me", "media", "my", "new", "notices", "official",
    "owner", "owners", "platform", "portal", "pricing", "privacy", "public", "ratings", "register", "root",
    "security", "settings", "signin", "signup", "static", "status", "stripe", "support", "system", "terms",
    "webhook", "webhooks", "www",
})

# Checked longest first, from the end of the name. Dropped words vanish; kept words become separate slug words.
_DROPPED_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "公司", "集团", "中心")
_KEPT_SUFFIXES = ("物业", "服务", "管理", "经营", "科技", "发展", "实业")
_SUFFIXES = sorted([(s, False) for s in _DROPPED_SUFFIXES] + [(s, True) for s in _KEPT_SUFFIXES],
                   key=lambda item: -len(item[0]))


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _split_suffixes(name: str) -> tuple[str, list[str]]:
    """'天山物业服务有限公司' → ('天山', ['物业', '服务'])."""
    core, kept = name, []
    while True:
        for suffix, keep in _SUFFIXES:
            if core.endswith(suffix) and len(core) > len(suffix):
                core = core[: -len(suffix)].rstrip()
                if keep:
                    kept.insert(0, suffix)
                break
        else:
            return core, kept


def _words(text: str) -> list[str]:
    """Han runs become one pinyin word; ASCII letters and digits are kept; anything else separates words."""
    words: list[str] = []
    current, kind = "", None
    for ch in text:
        if _is_han(ch):
            new_kind = "han"
        elif ch.isascii() and ch.isalnum():
            new_kind = "ascii"
        else:
            new_kind = None
        if new_kind != kind and current:
            words.append(current)
            current = ""
        kind = new_kind
        if new_kind is not None:
            current += ch
    if current:
        words.append(current)
    out = []
    for word in words:
        if _is_han(word[0]):
            word = "".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
        word = re.sub(r"[^a-z0-9]", "", word.lower())
        if word:
            out.append(word)
    return out


def slug_from_name(name: str) -> str:
    """A well-formed slug proposed from a company name (not checked for uniqueness); '' if none can be made."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    core, kept = _split_suffixes(name)
    words = _words(core) + [w for suffix in kept for w in _words(suffix)]
    slug = "-".join(words)
    if len(slug) > MAX_LENGTH:
        slug = slug[:MAX_LENGTH].rsplit("-", 1)[0] if "-" in slug[:MAX_LENGTH] else slug[:MAX_LENGTH]
    slug = slug.strip("-")
    if slug and len(slug) < MIN_LENGTH:
        slug = f"{slug}-wuye"
    return slug


def normalise_slug(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def slug_problem(slug: str):
    """A user-facing reason why ``slug`` cannot be used as written (format or reserved), or None."""
    if not slug:
        return _l("Enter a web address for the company.")
    if len(slug) < MIN_LENGTH or len(slug) > MAX_LENGTH:
        return _l("Use %(min)s to %(max)s characters.", min=MIN_LENGTH, max=MAX_LENGTH)
    if not SLUG_RE.match(slug):
        return _l("Use only lowercase letters a–z, digits and single hyphens between them, e.g. hongshan-wuye.")
    if slug in RESERVED:
        return _l("This address is reserved. Choose another one.")
    return None


def slug_taken(slug: str) -> bool:
    from saas.extensions import db
    from saas.models import Company

    return db.session.scalar(select(func.count()).select_from(Company).where(Company.slug == slug)) > 0


def available_slug(base: str) -> str:
    """``base`` if it is free and valid, else base-2, base-3, …; '' if no valid base exists."""
    from saas.extensions import db
    from saas.models import Company

    if not base or (slug_problem(base) is not None and base not in RESERVED):
        return ""
    # One query for every taken slug the candidates could collide with ([a-z0-9-] holds no LIKE wildcards).
    prefix = base[: MAX_LENGTH - 4].rstrip("-")
    taken = set(db.session.execute(select(Company.slug).where(Company.slug.like(f"{prefix}%"))).scalars())
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        candidate = base[: MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken and slug_problem(candidate) is None:
            return candidate
    return ""
