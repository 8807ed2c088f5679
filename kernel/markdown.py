"""What people write (plan summaries, action descriptions, evidence, terms of reference,
comments) as safe HTML: one sanitiser for the whole portal.

markdown-it-py renders CommonMark with raw HTML switched off, so HTML in the source is
escaped, never passed through; nh3 (Rust's ammonia) then keeps only a short list of tags
and attributes and only http, https and mailto links, and marks every link
``rel="nofollow noopener noreferrer"`` (plus ``ugc`` for comments, which are user-generated
content in the search engines' sense). Headings are demoted below the page's own, so what
someone writes never outranks the page it sits on.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_md.disable("image")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto"}
_HEADING = re.compile(r"<(/?)h([1-6])>")


def render_markdown(text: str | None, *, top_heading: int = 3, ugc: bool = False) -> Markup:
    """Sanitised HTML for markdown ``text``; its headings start at ``top_heading`` (2 to 4)."""
    if not text:
        return Markup("")
    html = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + top_heading - 1, 4)}>", _md.render(text))
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc" if ugc else "nofollow noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - nh3 has sanitised it just above


__all__ = ["render_markdown"]
