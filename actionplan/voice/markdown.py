"""Safe rendering of what people write: Markdown (markdown-it-py) cleaned by nh3.

Raw HTML in the source is never passed through: markdown-it escapes it (``html`` off), and
nh3 then keeps only a short list of tags and attributes, only http, https and mailto
links, and adds ``rel="nofollow noopener ugc"`` to every link. The result is safe to mark
as HTML in a template.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def render_markdown(text: str) -> Markup:
    """Markdown to sanitised HTML (headings are demoted so a comment never outranks the page)."""
    html = _md.render(text or "")
    html = html.replace("<h1>", "<h3>").replace("</h1>", "</h3>").replace("<h2>", "<h3>").replace("</h2>", "</h3>")
    for level in ("h5", "h6"):
        html = html.replace(f"<{level}>", "<h4>").replace(f"</{level}>", "</h4>")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener ugc",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 just above
