"""Portal-wide pages that belong to no app."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_accessibility_statement_names_the_standard_and_where_to_report(client, settings):
    settings.SUPPORT_EMAIL = "access@portal.example.org"
    response = client.get("/accessibility/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "WCAG" in body and "2.2" in body
    assert "access@portal.example.org" in body


@pytest.mark.django_db
def test_every_page_footer_links_to_the_statement(client):
    assert 'href="/accessibility/"' in client.get("/").content.decode()
