"""Every commissioning page: allowed, 403 (can see, may not write) and 404 (stranger to a private contract)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest

from commissioning import services
from commissioning.decisions import services as decision_services
from commissioning.forms import ContractEditForm
from commissioning.models import Contract, ContractForm, ContractMeasure, Partnership, PartnershipScope, ProviderRole
from stakeholders.models import OrganisationType, Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def measure(contract, recovery):
    return services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(30), share_bp=500)


def _urls(contract, measure):
    base = f"/commissioning/contracts/{contract.pk}"
    return {
        "detail": f"{base}/",
        "performance": f"{base}/performance/",
        "history": f"{base}/history/",
        "edit": f"{base}/edit/",
        "measure_new": f"{base}/measures/new/",
        "measure_edit": f"{base}/measures/{measure.pk}/edit/",
    }


# (page, commissioner, provider, outsider, anonymous) for a private contract
PRIVATE = [
    ("detail", 200, 200, 404, 404),
    ("performance", 200, 200, 404, 404),
    ("history", 200, 200, 404, 302),
    ("edit", 200, 403, 404, 302),
    ("measure_new", 200, 403, 404, 302),
    ("measure_edit", 200, 403, 404, 302),
]
# ... and for a publishable one: strangers see the summary, nothing more.
PUBLISHED = [
    ("detail", 200, 200, 200, 200),
    ("performance", 200, 200, 403, 302),
    ("history", 200, 200, 403, 302),
    ("edit", 200, 403, 403, 302),
    ("measure_new", 200, 403, 403, 302),
    ("measure_edit", 200, 403, 403, 302),
]


@pytest.mark.parametrize(("page", "as_commissioner", "as_provider", "as_outsider", "as_anonymous"), PRIVATE)
def test_private_contract_pages(
    client_for,
    contract,
    measure,
    commissioner,
    provider,
    outsider,
    page,
    as_commissioner,
    as_provider,
    as_outsider,
    as_anonymous,
):
    url = _urls(contract, measure)[page]
    for user, expected in (
        (commissioner, as_commissioner),
        (provider, as_provider),
        (outsider, as_outsider),
        (None, as_anonymous),
    ):
        assert client_for(user).get(url).status_code == expected, (user, url)


@pytest.mark.parametrize(("page", "as_commissioner", "as_provider", "as_outsider", "as_anonymous"), PUBLISHED)
def test_published_contract_pages(
    client_for,
    published,
    measure,
    commissioner,
    provider,
    outsider,
    page,
    as_commissioner,
    as_provider,
    as_outsider,
    as_anonymous,
):
    url = _urls(published, measure)[page]
    for user, expected in (
        (commissioner, as_commissioner),
        (provider, as_provider),
        (outsider, as_outsider),
        (None, as_anonymous),
    ):
        assert client_for(user).get(url).status_code == expected, (user, url)


def test_the_public_summary_shows_a_value_band_not_the_value(client_for, published):
    page = client_for(None).get(f"/commissioning/contracts/{published.pk}/").content.decode()
    assert "£1m–£5m" in page  # noqa: RUF001 - the band's en dash
    assert "£1,200,000" not in page
    assert "Community teams." not in page  # the service description is not in the summary


def test_writes_by_readers_are_refused_and_change_nothing(client_for, contract, measure, provider, outsider):
    for user, status in ((provider, 403), (outsider, 404)):
        response = client_for(user).post(f"/commissioning/contracts/{contract.pk}/edit/", {"title": "Hijacked"})
        assert response.status_code == status
        response = client_for(user).post(f"/commissioning/contracts/{contract.pk}/measures/{measure.pk}/delete/")
        assert response.status_code == status
    assert Contract.objects.get(pk=contract.pk).title != "Hijacked"
    assert ContractMeasure.objects.filter(pk=measure.pk).exists()


def _edit_data(client, contract):
    """What the edit page's form holds for the contract as stored (the page itself must load)."""
    assert client.get(f"/commissioning/contracts/{contract.pk}/edit/").status_code == 200
    data = {}
    for name, value in ContractEditForm.initial_for(Contract.objects.get(pk=contract.pk)).items():
        if isinstance(value, list):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return data


def test_a_commissioner_edits_a_contract_and_a_stale_save_shows_the_conflict(client_for, contract, commissioner):
    client = client_for(commissioner)
    data = _edit_data(client, contract)
    assert data["version"] == "1"
    response = client.post(f"/commissioning/contracts/{contract.pk}/edit/", {**data, "title": "First save"})
    assert response.status_code == 302
    # The same page, saved again from version 1: refused, with both versions side by side.
    response = client.post(f"/commissioning/contracts/{contract.pk}/edit/", {**data, "title": "Second save"})
    assert response.status_code == 409
    page = response.content.decode()
    # The first save was this commissioner's own (another window), so nobody else is blamed (issue 19).
    assert "You changed this in another window while you were editing" in page
    assert "Someone else" not in page
    assert "Keep the saved version and discard mine" in page
    assert "First save" in page and "Second save" in page
    assert 'name="version" value="2"' in page
    assert Contract.objects.get(pk=contract.pk).title == "First save"
    # "Save my version" re-applies on top of the current version.
    response = client.post(
        f"/commissioning/contracts/{contract.pk}/edit/", {**data, "version": "2", "title": "Second save"}
    )
    assert response.status_code == 302
    assert Contract.objects.get(pk=contract.pk).title == "Second save"


def test_bad_provider_roles_are_shown_as_an_error_and_nothing_is_saved(client_for, contract, commissioner, other_org):
    client = client_for(commissioner)
    data = _edit_data(client, contract)
    response = client.post(
        f"/commissioning/contracts/{contract.pk}/edit/", {**data, "subcontractors": [str(other_org.pk)]}
    )
    assert response.status_code == 200
    assert "single-provider contract has exactly one provider" in response.content.decode()
    assert Contract.objects.get(pk=contract.pk).version == 1


def test_a_commissioner_adds_a_measure_and_shares_over_100_percent_are_refused(
    client_for, contract, commissioner, recovery, detentions
):
    client = client_for(commissioner)
    url = f"/commissioning/contracts/{contract.pk}/measures/new/"
    response = client.post(url, {"indicator": recovery.pk, "target": "30", "share_percent": "60"})
    assert response.status_code == 302
    response = client.post(url, {"indicator": detentions.pk, "target": "10", "share_percent": "40.01"})
    assert response.status_code == 200
    assert "at most 40" in response.content.decode()
    assert contract.measures.count() == 1


def test_a_stale_measure_save_shows_the_conflict(client_for, contract, measure, commissioner):
    client = client_for(commissioner)
    url = f"/commissioning/contracts/{contract.pk}/measures/{measure.pk}/edit/"
    data = {"indicator": measure.indicator_id, "target": "31", "share_percent": "5", "version": "1"}
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "target": "32"})
    assert response.status_code == 409
    assert ContractMeasure.objects.get(pk=measure.pk).target == Decimal(31)


def test_creating_a_contract_needs_a_commissioner(client_for, commissioner, provider, provider_org, commissioning_org):
    assert client_for(provider).get("/commissioning/contracts/new/").status_code == 403
    assert client_for(None).get("/commissioning/contracts/new/").status_code == 302
    client = client_for(commissioner)
    response = client.post(
        "/commissioning/contracts/new/",
        {
            "reference": "NEW-1",
            "title": "New contract",
            "service_description": "A service",
            "commissioner": f"org:{commissioning_org.pk}",
            "form": "single",
            "lead_provider": provider_org.pk,
            "boroughs": [commissioning_org.boroughs.first().pk],
            "annual_value": "1250000.50",
            "start_date": "2026-04-01",
            "end_date": "2029-03-31",
            "agreed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Contract.objects.get(reference="NEW-1").annual_value_pence == 125_000_050


def test_a_commissioner_cannot_commission_for_someone_else(client_for, commissioner, provider_org, other_org):
    response = client_for(commissioner).post(
        "/commissioning/contracts/new/", {"reference": "X", "commissioner": f"org:{other_org.pk}"}
    )
    assert response.status_code == 200
    assert not Contract.objects.filter(reference="X").exists()


def test_the_register_filters_totals_and_hides_private_values(client_for, contract, published, commissioner, outsider):
    page = client_for(commissioner).get("/commissioning/contracts/", {"status": "active"}).content.decode()
    assert contract.title in page and "£1,200,000" in page
    page = client_for(commissioner).get("/commissioning/contracts/", {"status": "ended"}).content.decode()
    assert "No contract matches" in page
    page = client_for(outsider).get("/commissioning/contracts/").content.decode()
    assert published.title in page and "£1m–£5m" in page  # noqa: RUF001
    assert "£1,200,000" not in page


def test_the_register_csv_neutralises_formulas(client_for, contract, commissioner):
    for title in ('=HYPERLINK("http://evil")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        Contract.objects.filter(pk=contract.pk).update(title=title)
        response = client_for(commissioner).get("/commissioning/contracts/", {"format": "csv"})
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:2] == ["reference", "title"]
        assert rows[1][1] == "'" + title


def test_the_register_csv_gives_value_bands_to_strangers(client_for, published, outsider):
    rows = list(
        csv.DictReader(io.StringIO(client_for(outsider).get("/commissioning/contracts/?format=csv").content.decode()))
    )
    assert rows[0]["annual_value_pounds"] == ""
    assert rows[0]["value_band"] == "£1m–£5m"  # noqa: RUF001


def test_the_overview_is_for_signed_in_users_and_downloads(client_for, contract, commissioner, outsider):
    assert client_for(None).get("/commissioning/").status_code == 302
    page = client_for(commissioner).get("/commissioning/").content.decode()
    assert "£1,200,000" in page
    assert "£1,200,000" not in client_for(outsider).get("/commissioning/").content.decode()
    rows = list(csv.reader(io.StringIO(client_for(commissioner).get("/commissioning/?format=csv").content.decode())))
    assert ["borough", "Camden", "1", "600000.00"] in rows


def test_history_records_who_changed_what(client_for, contract, commissioner):
    client = client_for(commissioner)
    client.post(f"/commissioning/contracts/{contract.pk}/edit/", {**_edit_data(client, contract), "title": "Renamed"})
    page = client.get(f"/commissioning/contracts/{contract.pk}/history/").content.decode()
    assert "Renamed" in page
    assert "Casey Commissioner" in page


# Partnerships ------------------------------------------------------------------------------


@pytest.fixture
def partnership(commissioning_org):
    return services.partnership_create(
        actor=None,
        name="Test partnership",
        scope=PartnershipScope.PAN_LONDON,
        lead=commissioning_org,
        terms_of_reference="# Aims\n\n<script>x()</script> **Together**",
    )


def test_partnerships_are_public_and_their_terms_sanitised(client_for, partnership):
    assert client_for(None).get("/commissioning/partnerships/").status_code == 200
    page = client_for(None).get(f"/commissioning/partnerships/{partnership.slug}/").content.decode()
    assert "<strong>Together</strong>" in page
    assert "<script>x()" not in page
    assert client_for(None).get("/commissioning/partnerships/nope/").status_code == 404


@pytest.mark.parametrize("path", ["edit/", "meetings/new/"])
def test_only_members_manage_a_partnership(client_for, partnership, commissioner, provider, outsider, path):
    url = f"/commissioning/partnerships/{partnership.slug}/{path}"
    assert client_for(commissioner).get(url).status_code == 200
    assert client_for(provider).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302
    assert client_for(commissioner).get(f"/commissioning/partnerships/nope/{path}").status_code == 404


def test_a_member_records_a_meeting_and_proposes_a_decision(client_for, partnership, commissioner, provider):
    client = client_for(commissioner)
    response = client.post(
        f"/commissioning/partnerships/{partnership.slug}/meetings/new/",
        {"date_day": "1", "date_month": "5", "date_year": "2026", "title": "Board"},
    )
    assert response.status_code == 302
    meeting = partnership.meetings.get()
    url = f"/commissioning/partnerships/{partnership.slug}/decisions/new/"
    proposal = {"title": "Publish contracts", "text": "Publish them.", "meeting": meeting.pk}
    assert client_for(provider).post(url, proposal).status_code == 403
    assert client.post(url, proposal).status_code == 302
    assert "Publish contracts" in client_for(None).get(partnership.get_absolute_url()).content.decode()
    assert "Publish contracts" in client_for(None).get(meeting.get_absolute_url()).content.decode()


def test_creating_a_partnership_needs_a_commissioner(client_for, commissioner, provider, commissioning_org):
    assert client_for(provider).get("/commissioning/partnerships/new/").status_code == 403
    response = client_for(commissioner).post(
        "/commissioning/partnerships/new/",
        {"name": "New one", "scope": "pan_london", "lead": commissioning_org.pk, "terms_of_reference": "Hi"},
    )
    assert response.status_code == 302
    assert Partnership.objects.filter(name="New one").exists()


def test_a_partnership_contract_is_managed_by_any_member_commissioner(
    client_for, partnership, contract, commissioner, outsider
):
    Contract.objects.filter(pk=contract.pk).update(commissioner_organisation=None, commissioner_partnership=partnership)
    assert client_for(commissioner).get(f"/commissioning/contracts/{contract.pk}/edit/").status_code == 200
    assert client_for(outsider).get(f"/commissioning/contracts/{contract.pk}/edit/").status_code == 404


def test_every_alliance_partner_sees_every_shared_measure(client_for, commissioner, commissioning_org, recovery):
    partners = [OrganisationFactory(type=OrganisationType.VOLUNTARY) for _ in range(2)]
    alliance = services.contract_create(
        actor=None,
        reference="ALLIANCE-1",
        title="Alliance (test)",
        service_description="x",
        commissioner_organisation=commissioning_org,
        form=ContractForm.ALLIANCE,
        providers=[(p, ProviderRole.ALLIANCE_PARTNER) for p in partners],
        boroughs=list(commissioning_org.boroughs.all()),
        annual_value_pence=1_000_000,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2030, 1, 1),
        agreed=True,
    )
    services.measure_create(actor=None, contract=alliance, indicator=recovery, target=Decimal(30), share_bp=500)
    for partner in partners:
        member = MembershipFactory(organisation=partner, role=Role.CLINICIAN).user
        page = client_for(member).get(f"/commissioning/contracts/{alliance.pk}/performance/").content.decode()
        assert "Recovery rate (test)" in page
        assert "every partner shares every measure" in page


def test_a_meeting_of_another_partnership_is_404(client_for, partnership, commissioner, commissioning_org):
    other = services.partnership_create(
        actor=None, name="Other", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )
    meeting = decision_services.meeting_create(actor=None, partnership=other, date=dt.date(2026, 5, 1), title="Board")
    for path in ("", "edit/"):
        url = f"/commissioning/partnerships/{partnership.slug}/meetings/{meeting.pk}/{path}"
        assert client_for(commissioner).get(url).status_code == 404


def test_an_unknown_contract_or_measure_is_404(client_for, contract, commissioner):
    client = client_for(commissioner)
    assert client.get("/commissioning/contracts/999999/").status_code == 404
    assert client.get(f"/commissioning/contracts/{contract.pk}/measures/999999/edit/").status_code == 404


def _links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every same-site link on a page."""
    found = re.findall(r'<a\b[^>]*\bhref="(/[^"]*)"[^>]*>(.*?)</a>', html, re.S)
    return [(href.replace("&amp;", "&"), re.sub(r"<[^>]+>|\s+", " ", text).strip()) for href, text in found]


def _asks_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/account/sign-in/")


def test_the_public_register_never_sends_a_visitor_to_sign_in_without_saying_so(client, published):
    """Issue 19: every link on the register and the public contract summary either opens for a
    visitor or says "(sign in)" (the commissioning overview and a contract's performance do)."""
    seen_sign_in_links = set()
    for page in ("/commissioning/contracts/", f"/commissioning/contracts/{published.pk}/"):
        response = client.get(page)
        assert response.status_code == 200
        for href, text in _links(response.text):
            if href.startswith("/account/"):
                continue  # the header's own "Sign in" and "Create an account"
            answer = client.get(href)
            if _asks_to_sign_in(answer):
                assert "(sign in)" in text, f"{page} links to {href} ({text!r}), which asks a visitor to sign in"
                seen_sign_in_links.add(text)
            else:
                assert answer.status_code == 200, f"{page} links to {href}, which answers {answer.status_code}"
    assert seen_sign_in_links == {"Commissioning overview (sign in)", "Performance (sign in)"}


def test_signed_in_people_see_the_register_links_without_the_sign_in_note(client_for, published, outsider):
    html = client_for(outsider).get("/commissioning/contracts/").text
    assert "Commissioning overview</a>" in html and "(sign in)" not in html
    summary = client_for(outsider).get(f"/commissioning/contracts/{published.pk}/").text
    assert "Performance (sign in)" not in summary
