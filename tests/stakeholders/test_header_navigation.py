"""Issue 19, way-finding: each role's own tasks lead the header, so they stay visible at desktop width.

The NHS.UK header moves the links that do not fit under "More" from the end of the list, so the
order of the list is what keeps a role's tasks in view. The browser check is in the screenshots
of the pull request; here the order and the role flags are asserted.
"""

from __future__ import annotations

import re

import pytest

from stakeholders.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="nhsuk-header__navigation".*?</nav>', html, re.S)
    assert nav, "the header has a navigation list"
    texts = re.findall(r'<a\s+class="nhsuk-header__navigation-link"[^>]*>\s*(.*?)\s*</a>', nav.group(0), re.S)
    return [re.sub(r"<[^>]+>", "", t).strip() for t in texts]


def test_a_commissioner_sees_my_work_and_review_data_first(client_for, commissioner):
    links = _nav_links(client_for(commissioner).get("/").text)
    assert links[:2] == ["My work", "Review data"]
    assert "Moderation" not in links


def test_a_provider_sees_my_work_and_submit_data_first(client_for, provider):
    links = _nav_links(client_for(provider).get("/").text)
    assert links[:2] == ["My work", "Submit data"]


def test_a_moderator_sees_moderation_in_the_header(client_for, provider_org):
    moderator = MembershipFactory(organisation=provider_org, role=Role.MODERATOR).user
    links = _nav_links(client_for(moderator).get("/").text)
    assert links[:2] == ["My work", "Moderation"]


def test_a_superuser_sees_moderation_and_admin(client_for, db):
    links = _nav_links(client_for(UserFactory(is_staff=True, is_superuser=True)).get("/").text)
    assert "Moderation" in links and links[-1] == "Admin"


def test_a_service_user_sees_my_work_then_the_plans(client_for, service_user):
    links = _nav_links(client_for(service_user).get("/").text)
    assert links[:2] == ["My work", "Plans"]
    assert not {"Submit data", "Review data", "Moderation", "Admin"} & set(links)


def test_a_visitor_sees_the_public_pages_only_with_plans_first(client):
    links = _nav_links(client.get("/").text)
    assert links[0] == "Plans"
    assert not {"My work", "Submit data", "Review data", "Moderation", "Admin"} & set(links)


def test_the_moderation_queue_is_the_current_header_link_on_its_page(client_for, provider_org):
    moderator = MembershipFactory(organisation=provider_org, role=Role.MODERATOR).user
    html = client_for(moderator).get("/moderation/").text
    assert re.search(r'nhsuk-header__navigation-item--current[^>]*>\s*<a[^>]*href="/moderation/"', html)
