"""Links in outbox messages, made tappable without ever trusting the body as HTML.

The body is escaped first; links are then found in the escaped text. A URL may be glued to the text before it
(older Chinese messages read "接受邀请：http://..."), so a link starts at "http(s)://" wherever it is, and it ends at
whitespace, at full-width punctuation, or at an escaped quote or angle bracket. Only http and https are linked.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Escaped text holds no raw < > " ' (they became entities), so stop at those entities too.
_URL_RE = re.compile(
    r"https?://(?:(?!&(?:#34|#39|lt|gt|quot|apos);)[^\s<>\"'\u3000-\u303f\uff00-\uffef])+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}"  # sentence punctuation after a URL belongs to the sentence


def _matches(escaped: str):
    for match in _URL_RE.finditer(escaped):
        url = match.group(0).rstrip(_TRAILING)
        if len(url) > len("https://"):
            yield match.start(), match.start() + len(url), url


def find_links(body: str) -> list[str]:
    """The distinct links of a message, in order, as plain text (for the copy buttons)."""
    seen: list[str] = []
    for _start, _end, url in _matches(str(escape(body or ""))):
        plain = Markup(url).unescape()
        if plain not in seen:
            seen.append(plain)
    return seen


def linkify(body: str, id_prefix: str = "") -> Markup:
    """The body as safe HTML: escaped, line breaks kept, each link an <a> (with an id for its copy button)."""
    escaped = str(escape(body or ""))
    parts: list[str] = []
    position = 0
    numbers: dict[str, int] = {}  # each distinct link's number, as find_links() orders them
    for start, end, url in _matches(escaped):
        parts.append(escaped[position:start])
        plain = Markup(url).unescape()
        anchor_id = ""
        if plain not in numbers:  # the first time a link appears, it gets the id its copy button points at
            numbers[plain] = len(numbers) + 1
            if id_prefix:
                anchor_id = f' id="{id_prefix}link-{numbers[plain]}"'
        # `url` is already escaped text: no quote can close the attribute.
        parts.append(f'<a href="{url}"{anchor_id} rel="noopener noreferrer nofollow">{url}</a>')
        position = end
    parts.append(escaped[position:])
    return Markup("<br>\n".join("".join(parts).split("\n")))
