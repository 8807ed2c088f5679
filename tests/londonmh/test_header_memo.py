"""The footer and a visitor's header render once a process (londonmh.jinja2.memo), keyed by their parameters."""

from __future__ import annotations

import pytest

from londonmh import jinja2

pytestmark = pytest.mark.django_db


def header(html: str) -> str:
    return html[html.index("<header") : html.index("</header>")]


def test_a_memoised_header_follows_the_page_and_never_carries_a_name(client_for, commissioner):
    jinja2._MEMO.clear()
    visitor = client_for(None)
    plans = header(visitor.get("/plans/").content.decode())
    dashboards = header(visitor.get("/dashboards/").content.decode())
    # Each page marks its own section as current, memoised or not.
    assert plans != dashboards
    signed_in = header(client_for(commissioner).get("/dashboards/").content.decode())
    assert "Casey Commissioner" in signed_in and "Sign in" not in signed_in
    again = header(visitor.get("/dashboards/").content.decode())
    assert again == dashboards
    assert "Casey Commissioner" not in again and "Sign in" in again
    assert not any("Casey" in key[1] for key in jinja2._MEMO)  # a signed-in header is never kept


def test_memo_renders_once_for_the_same_parameters():
    calls = []

    class Macro:
        name = "component"

        def __call__(self, params):
            calls.append(params)
            return f"<p>{params['text']}</p>"

    jinja2._MEMO.clear()
    assert jinja2.memo(Macro(), {"text": "a"}) == "<p>a</p>"
    assert jinja2.memo(Macro(), {"text": "a"}) == "<p>a</p>"
    assert jinja2.memo(Macro(), {"text": "b"}) == "<p>b</p>"
    assert [c["text"] for c in calls] == ["a", "b"]
