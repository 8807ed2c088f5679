"""The NHS.UK CSS the pages load declares no web font from another host (the CSP would refuse it)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders

from londonmh.staticfinders import SELF_HOSTED_CSS, strip_font_faces


def test_font_face_rules_and_the_source_map_comment_are_taken_out():
    css = (
        "body{font-family:Frutiger W01,arial,sans-serif}"
        '@font-face{font-family:Frutiger W01;src:url(https://assets.nhs.uk/fonts/a.woff2) format("woff2")}'
        ".nhsuk-u-bold{font-weight:600}/*# sourceMappingURL=nhsuk-frontend.min.css.map */"
    )
    assert strip_font_faces(css) == "body{font-family:Frutiger W01,arial,sans-serif}.nhsuk-u-bold{font-weight:600}"


def test_the_self_hosted_css_is_found_and_names_no_remote_font():
    found = finders.find(SELF_HOSTED_CSS)
    assert found, "the finder offers the derived CSS"
    css = Path(found).read_text(encoding="utf-8")
    assert "@font-face" not in css
    assert "assets.nhs.uk" not in css
    # Still the whole NHS.UK stylesheet, not an empty file.
    assert ".nhsuk-header" in css and len(css) > 100_000


def test_collectstatic_lists_the_self_hosted_css():
    listed = {path for finder in finders.get_finders() for path, _storage in finder.list([])}
    assert SELF_HOSTED_CSS in listed


def test_the_base_template_loads_the_self_hosted_css(client, db):
    html = client.get("/").content.decode()
    assert "nhsuk-frontend.self-hosted" in html
    assert "nhsuk-frontend.min.css" not in html
