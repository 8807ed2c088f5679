"""A corpus of hostile comments never renders as live HTML, on the page or in the API's HTML field."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from kernel.markdown import render_markdown

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<a href='x' onmouseover='alert(1)'>hover</a>",
    "<details open ontoggle=alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    '[x](https://ok.example "title" onclick="alert(1)")',
    "<base href='https://evil.example/'>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<object data=javascript:alert(1)>",
    "[a](<javascript:alert(1)>)",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]

DANGEROUS_TAGS = {"script", "iframe", "style", "img", "svg", "object", "embed", "form", "base", "meta", "math", "link"}


class LiveHtml(HTMLParser):
    """Collects anything in HTML that could run or load: tags, event handlers, scripted links."""

    def __init__(self, links_need_nofollow: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.links_need_nofollow = links_need_nofollow
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "data"} and value:
                scheme = value.strip().lower().replace("\t", "").split(":", 1)[0]
                if ":" in value and scheme not in {"http", "https", "mailto"}:
                    self.problems.append(f"{tag}[{name}={value}]")
            if self.links_need_nofollow and tag == "a" and name == "href" and value:
                rel = dict(attrs).get("rel") or ""
                if "nofollow" not in rel:
                    self.problems.append("link without nofollow")


def live_html(html: str, links_need_nofollow: bool = True) -> list[str]:
    parser = LiveHtml(links_need_nofollow)
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_sanitiser_never_lets_live_html_through(payload):
    assert live_html(str(render_markdown(payload, ugc=True))) == []


def test_safe_markdown_survives_with_nofollow_links():
    html = str(render_markdown("**bold** and [NHS](https://www.nhs.uk) and\n\n- a list", ugc=True))
    assert "<strong>bold</strong>" in html
    assert 'href="https://www.nhs.uk"' in html and 'rel="nofollow noopener noreferrer ugc"' in html
    assert "<li>a list</li>" in html


def test_no_payload_is_live_on_the_thread_page_or_in_the_api(
    client_for, public_plan, service_user, settings, make_comment
):
    settings.VOICE_COMMENT_RATE_LIMIT = 0  # the whole corpus from one person
    for payload in PAYLOADS:
        make_comment(body=payload)
    page = client_for(None).get(f"/plans/{public_plan.slug}/comments/").content.decode()
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    # The page's own links are not user content; every link inside a comment must be nofollow.
    assert live_html(main, links_need_nofollow=False) == []
    bodies = [part.split("</div>", 1)[0] for part in main.split('<div class="lmh-comment__body">')[1:]]
    assert len(bodies) == len(PAYLOADS)
    for body in bodies:
        assert live_html(body) == [], body
    response = client_for(None).get(f"/api/v1/comments/?plan={public_plan.slug}&page_size=100")
    assert response.status_code == 200
    for item in response.json()["results"]:
        assert live_html(item["body_html"]) == [], item["body"]
