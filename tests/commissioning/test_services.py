"""The rules of commissioning data: commissioners, provider roles per form, shares, status, versions."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from commissioning import services
from commissioning.decisions import services as decision_services
from commissioning.models import (
    Contract,
    ContractForm,
    ContractStatus,
    PartnershipScope,
    ProviderRole,
    add_months,
    format_pounds,
    value_band,
)
from kernel.concurrency import StaleEdit
from kernel.markdown import render_markdown
from stakeholders.models import Area, OrganisationType
from tests.commissioning.conftest import borough
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def _contract_kwargs(commissioning_org, providers, form=ContractForm.SINGLE, **extra):
    today = dt.date(2026, 6, 1)
    return {
        "actor": None,
        "reference": extra.pop("reference", "REF-1"),
        "title": "A contract",
        "service_description": "A service.",
        "commissioner_organisation": commissioning_org,
        "form": form,
        "providers": providers,
        "boroughs": [borough("CMD")],
        "annual_value_pence": 100_000,
        "start_date": today,
        "end_date": today + dt.timedelta(days=365),
        **extra,
    }


def test_a_contract_needs_exactly_one_commissioner_in_the_database(contract, commissioning_org):
    partnership = services.partnership_create(
        actor=None, name="P", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.filter(pk=contract.pk).update(commissioner_partnership=partnership)
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.filter(pk=contract.pk).update(commissioner_organisation=None)


def test_the_service_refuses_both_or_neither_commissioner(commissioning_org, provider_org):
    partnership = services.partnership_create(
        actor=None, name="P", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )
    with pytest.raises(ValidationError, match="either a commissioning organisation or a partnership"):
        services.contract_create(
            **_contract_kwargs(
                commissioning_org, [(provider_org, ProviderRole.LEAD)], commissioner_partnership=partnership
            )
        )
    with pytest.raises(ValidationError, match="either"):
        services.contract_create(**_contract_kwargs(None, [(provider_org, ProviderRole.LEAD)]))
    assert not Contract.objects.exists()


def test_a_provider_cannot_commission(provider_org, other_org):
    with pytest.raises(ValidationError, match="not a commissioner"):
        services.contract_create(**_contract_kwargs(provider_org, [(other_org, ProviderRole.LEAD)]))


@pytest.mark.parametrize(
    ("form", "roles", "ok"),
    [
        (ContractForm.SINGLE, ["lead"], True),
        (ContractForm.SINGLE, ["lead", "subcontractor"], False),
        (ContractForm.SINGLE, ["alliance_partner"], False),
        (ContractForm.SINGLE, [], False),
        (ContractForm.LEAD_PROVIDER, ["lead", "subcontractor"], True),
        (ContractForm.LEAD_PROVIDER, ["lead", "subcontractor", "subcontractor"], True),
        (ContractForm.LEAD_PROVIDER, ["lead"], False),
        (ContractForm.LEAD_PROVIDER, ["lead", "lead", "subcontractor"], False),
        (ContractForm.LEAD_PROVIDER, ["subcontractor", "subcontractor"], False),
        (ContractForm.ALLIANCE, ["alliance_partner", "alliance_partner"], True),
        (ContractForm.ALLIANCE, ["alliance_partner"], False),
        (ContractForm.ALLIANCE, ["alliance_partner", "alliance_partner", "lead"], False),
    ],
)
def test_providers_must_fit_the_contract_form(commissioning_org, form, roles, ok):
    providers = [(OrganisationFactory(type=OrganisationType.VOLUNTARY), role) for role in roles]
    kwargs = _contract_kwargs(commissioning_org, providers, form=form)
    if ok:
        assert services.contract_create(**kwargs).providers.count() == len(roles)
    else:
        with pytest.raises(ValidationError) as caught:
            services.contract_create(**kwargs)
        assert "providers" in caught.value.message_dict
        assert not Contract.objects.exists()


def test_an_organisation_holds_one_role_and_the_commissioner_is_not_a_provider(commissioning_org, provider_org):
    with pytest.raises(ValidationError, match="only one role"):
        services.contract_create(
            **_contract_kwargs(
                commissioning_org,
                [(provider_org, ProviderRole.ALLIANCE_PARTNER), (provider_org, ProviderRole.ALLIANCE_PARTNER)],
                form=ContractForm.ALLIANCE,
            )
        )
    with pytest.raises(ValidationError, match="cannot also be a provider"):
        services.contract_create(**_contract_kwargs(commissioning_org, [(commissioning_org, ProviderRole.LEAD)]))


def test_changing_the_form_rechecks_the_current_providers(contract):
    with pytest.raises(ValidationError, match="alliance contract"):
        services.contract_update(actor=None, contract=contract, expected_version=1, form=ContractForm.ALLIANCE)
    contract.refresh_from_db()
    assert (contract.form, contract.version) == (ContractForm.SINGLE, 1)


def test_the_end_date_cannot_precede_the_start(commissioning_org, provider_org):
    kwargs = _contract_kwargs(commissioning_org, [(provider_org, ProviderRole.LEAD)])
    kwargs["end_date"] = kwargs["start_date"] - dt.timedelta(days=1)
    with pytest.raises(ValidationError):
        services.contract_create(**kwargs)


def test_a_contract_needs_a_borough_and_a_unique_reference(contract, commissioning_org, provider_org):
    with pytest.raises(ValidationError, match="at least one borough"):
        services.contract_create(
            **_contract_kwargs(commissioning_org, [(provider_org, ProviderRole.LEAD)], boroughs=[])
        )
    with pytest.raises(ValidationError, match="reference"):
        services.contract_create(
            **_contract_kwargs(commissioning_org, [(provider_org, ProviderRole.LEAD)], reference=contract.reference)
        )


@pytest.mark.parametrize(
    ("agreed", "end", "status"),
    [
        (False, dt.date(2030, 1, 1), ContractStatus.DRAFT),
        (True, dt.date(2026, 5, 31), ContractStatus.ENDED),
        (True, dt.date(2026, 6, 1), ContractStatus.EXPIRING),
        (True, dt.date(2026, 12, 1), ContractStatus.EXPIRING),
        (True, dt.date(2026, 12, 2), ContractStatus.ACTIVE),
    ],
)
def test_status_is_derived_from_the_dates_in_python_and_in_sql(contract, agreed, end, status):
    today = dt.date(2026, 6, 1)
    Contract.objects.filter(pk=contract.pk).update(agreed=agreed, start_date=dt.date(2025, 1, 1), end_date=end)
    contract.refresh_from_db()
    assert contract.status_on(today) == status
    assert Contract.objects.with_status(today).get(pk=contract.pk).current_status == status


def test_six_months_on_from_the_end_of_august_is_the_end_of_february():
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)


def test_value_bands_and_pounds():
    assert value_band(9_999_999) == "Under £100k"
    assert value_band(10_000_000) == "£100k–£500k"  # noqa: RUF001 - the band's en dash
    assert value_band(250_000_000) == "£1m–£5m"  # noqa: RUF001
    assert value_band(5_000_000_000) == "£10m or more"
    assert format_pounds(123_456_789) == "£1,234,568"  # pages show money in whole pounds
    assert format_pounds(100_000_000) == "£1,000,000"


def test_a_stale_contract_edit_is_refused_and_loses_nothing(contract):
    services.contract_update(actor=None, contract=contract, expected_version=1, title="Theirs")
    with pytest.raises(StaleEdit) as caught:
        services.contract_update(
            actor=None, contract=Contract.objects.get(pk=contract.pk), expected_version=1, title="Mine"
        )
    assert caught.value.current.title == "Theirs"
    assert Contract.objects.get(pk=contract.pk).title == "Theirs"


def test_measure_shares_total_at_most_100_percent(contract, recovery, detentions):
    services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(50), share_bp=6000)
    with pytest.raises(ValidationError) as caught:
        services.measure_create(actor=None, contract=contract, indicator=detentions, target=Decimal(10), share_bp=4001)
    assert "at most 40" in caught.value.message_dict["share_bp"][0]
    services.measure_create(actor=None, contract=contract, indicator=detentions, target=Decimal(10), share_bp=4000)
    assert sum(contract.measures.values_list("share_bp", flat=True)) == 10_000


def test_raising_a_share_past_100_percent_is_refused(contract, recovery, detentions):
    first = services.measure_create(
        actor=None, contract=contract, indicator=recovery, target=Decimal(50), share_bp=5000
    )
    services.measure_create(actor=None, contract=contract, indicator=detentions, target=Decimal(10), share_bp=5000)
    with pytest.raises(ValidationError, match="at most 50"):
        services.measure_update(actor=None, measure=first, expected_version=1, share_bp=5001)
    first.refresh_from_db()
    assert (first.share_bp, first.version) == (5000, 1)


def test_one_measure_per_indicator(contract, recovery):
    services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(50), share_bp=100)
    with pytest.raises(ValidationError, match="already has a measure"):
        services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(40), share_bp=100)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_measures_cannot_together_pass_100_percent(contract, recovery, detentions):
    # Both writers see 0% linked; the row lock on the contract makes the second wait and then see 60%.
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(indicator) -> None:
        try:
            barrier.wait()
            services.measure_create(
                actor=None,
                contract=Contract.objects.get(pk=contract.pk),
                indicator=indicator,
                target=Decimal(1),
                share_bp=6000,
            )
            outcomes.append("saved")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in (recovery, detentions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert sum(contract.measures.values_list("share_bp", flat=True)) == 6000


def test_a_stale_measure_edit_is_refused(contract, recovery):
    measure = services.measure_create(
        actor=None, contract=contract, indicator=recovery, target=Decimal(50), share_bp=100
    )
    services.measure_update(actor=None, measure=measure, expected_version=1, target=Decimal(55))
    with pytest.raises(StaleEdit):
        services.measure_update(actor=None, measure=measure, expected_version=1, target=Decimal(60))
    measure.refresh_from_db()
    assert measure.target == Decimal(55)


def test_a_partnership_is_made_of_commissioners(commissioning_org, provider_org):
    with pytest.raises(ValidationError, match="not a commissioner"):
        services.partnership_create(
            actor=None, name="P", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org, members=[provider_org]
        )


def test_scopes_fill_in_their_boroughs(commissioning_org):
    pan = services.partnership_create(actor=None, name="Pan", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org)
    assert pan.boroughs.count() == 33
    ncl = Area.objects.get(short_code="NCL")
    sub = services.partnership_create(
        actor=None, name="Sub", scope=PartnershipScope.SUB_REGION, sub_region=ncl, lead=commissioning_org
    )
    assert set(sub.boroughs.all()) == set(Area.objects.filter(parent=ncl))
    with pytest.raises(ValidationError, match="at least two boroughs"):
        services.partnership_create(
            actor=None, name="Few", scope=PartnershipScope.BOROUGHS, boroughs=[borough("CMD")], lead=commissioning_org
        )
    with pytest.raises(ValidationError, match="sub-region"):
        services.partnership_create(
            actor=None, name="No region", scope=PartnershipScope.SUB_REGION, lead=commissioning_org
        )


def test_a_decision_is_owned_by_a_member(commissioning_org, provider_org):
    partnership = services.partnership_create(
        actor=None, name="P", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )
    decision = decision_services.decision_propose(actor=None, partnership=partnership, title="Do it", text="Do it.")

    def agree(owner):
        return decision_services.decision_record_outcome(
            actor=None, decision=decision, expected_version=decision.version, status="agreed", owner=owner
        )

    with pytest.raises(ValidationError, match="not a member"):
        agree(provider_org)
    assert agree(commissioning_org).owner == commissioning_org


def test_terms_of_reference_are_rendered_and_sanitised():
    source = "# Aims\n\n- **one**\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"
    html = str(render_markdown(source, top_heading=2))
    assert "<h2>Aims</h2>" in html
    assert "<strong>one</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html  # shown as text at most, never a link
