"""The privacy notice, terms of use and community guidelines: real pages, linked from sign-up, kept by staff."""

from __future__ import annotations

import pghistory.models
import pytest

from stakeholders.models import PolicyPage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = {
    "/privacy/": ["the law that allows it", "6(1)(e)", "9(2)(a)", "Information Commissioner", "How long we keep it"],
    "/terms/": ["not a crisis service", "Open Government Licence", "Moderators may hold"],
    "/community-guidelines/": ["Do not describe methods", "PALS", "Three flags"],
}


@pytest.mark.parametrize("url", PAGES)
def test_each_page_is_public_and_says_what_a_uk_deployment_must(client, url):
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    for words in PAGES[url]:
        assert words.lower() in body.lower(), (url, words)
    assert "<h2" in body and "<h4" not in body  # its sections are second-level headings under the title


def test_sign_up_links_all_three_and_every_page_links_them_in_the_footer(client):
    body = client.get("/account/sign-up/").content.decode()
    for url in PAGES:
        assert f'href="{url}"' in body
    assert body.count('href="/privacy/"') >= 2  # the form's sentence and the footer


def test_staff_edit_a_page_in_the_admin_and_its_history_keeps_the_old_text(client_for):
    page = PolicyPage.objects.get(slug="terms")
    client = client_for(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/stakeholders/policypage/{page.pk}/change/",
        {"slug": "terms", "title": "Terms of use", "summary": page.summary, "body": "## Changed\n\nNew terms."},
    )
    assert response.status_code == 302, response.content[:500]
    assert "New terms." in client.get("/terms/").content.decode()
    events = pghistory.models.Events.objects.tracks(page)
    assert events.count() >= 1
    assert client.get("/admin/stakeholders/policypage/add/").status_code == 403
