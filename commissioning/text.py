"""Terms of reference and other commissioner-written text: markdown rendered, then sanitised.

markdown-it-py renders with raw HTML switched off (CommonMark's `html` option), and nh3
(Rust's ammonia) then keeps only a small allow-list of tags, so nothing a member writes can
run script or break the page. Links get rel="noopener noreferrer nofollow".
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}


def render_markdown(text: str) -> Markup:
    """Safe HTML for markdown `text`. Top-level headings become h2: the page already has its h1."""
    html = _md.render(text or "")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
