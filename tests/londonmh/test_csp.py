"""The Content Security Policy allows no inline script except the NHS.UK template's own, by nonce."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_inline_script_carries_the_nonce_the_policy_names(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    scripts_without_src = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert scripts_without_src, "the NHS.UK template has one inline script"
    for attributes in scripts_without_src:
        assert f'nonce="{nonce.group(1)}"' in attributes


def test_each_response_gets_a_fresh_nonce(client):
    first = re.search(r"'nonce-([^']+)'", client.get("/")["Content-Security-Policy"]).group(1)
    second = re.search(r"'nonce-([^']+)'", client.get("/")["Content-Security-Policy"]).group(1)
    assert first != second
