"""Forms for the register filters, contracts, measures and partnerships (meetings and decisions: decisions/forms.py).

Forms parse and check the shape of input only; the rules (provider roles per contract
form, the 100% share limit, who may be a member) live in commissioning/services.py.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django import forms
from django.db.models import QuerySet

from actionplan.models import Plan
from commissioning.models import (
    Contract,
    ContractForm,
    ContractMeasure,
    ContractStatus,
    Partnership,
    PartnershipScope,
    ProviderRole,
)
from kernel.forms import NHSDateField
from outcomes.models import Indicator
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Organisation

PENNY = Decimal("0.01")


def provider_organisations() -> QuerySet[Organisation]:
    return Organisation.objects.exclude(type__in=list(COMMISSIONER_TYPES)).order_by("name")


def boroughs() -> QuerySet[Area]:
    return Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name")


class OrgChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class OrgMultiple(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


def commissioner_choices(organisations: QuerySet, partnerships: QuerySet) -> list[tuple[str, str]]:
    return [(f"org:{o.pk}", o.name) for o in organisations] + [
        (f"partnership:{p.pk}", f"{p.name} (partnership)") for p in partnerships
    ]


class ContractFilterForm(forms.Form):
    commissioner = forms.ChoiceField(required=False, label="Commissioner")
    provider = OrgChoice(queryset=Organisation.objects.none(), required=False, empty_label="Any provider")
    borough = forms.ModelChoiceField(
        queryset=Area.objects.none(), required=False, empty_label="Any borough", to_field_name="code"
    )
    form = forms.ChoiceField(required=False, label="Contract form", choices=[("", "Any form"), *ContractForm.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ContractStatus.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        commissioners = Organisation.objects.filter(type__in=list(COMMISSIONER_TYPES)).order_by("name")
        self.fields["commissioner"].choices = [
            ("", "Any commissioner"),
            *commissioner_choices(commissioners, Partnership.objects.order_by("name")),
        ]
        self.fields["provider"].queryset = provider_organisations()
        self.fields["borough"].queryset = boroughs()


class ContractEditForm(forms.Form):
    """Create or edit a contract. `version` carries the version the user started from."""

    reference = forms.CharField(max_length=40, help_text="Unique, e.g. NCL-MH-2026-01.")
    title = forms.CharField(max_length=200)
    service_description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    commissioner = forms.ChoiceField(
        help_text="The organisation that commissions it, or the partnership that commissions it jointly."
    )
    form = forms.ChoiceField(label="Contract form", choices=ContractForm.choices, widget=forms.RadioSelect)
    lead_provider = OrgChoice(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="None",
        help_text="Single-provider and lead-provider contracts have one lead provider.",
    )
    subcontractors = OrgMultiple(
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Lead-provider contracts only.",
    )
    alliance_partners = OrgMultiple(
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Alliance contracts only: at least two partners sharing the outcomes.",
    )
    boroughs = forms.ModelMultipleChoiceField(
        queryset=Area.objects.none(), widget=forms.CheckboxSelectMultiple, label="Boroughs covered"
    )
    annual_value = forms.DecimalField(
        label="Annual value (£)",
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        help_text="In pounds, for example 1250000 or 1250000.50.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    start_date = NHSDateField(label="Start date", help_text="For example, 1 4 2026")
    end_date = NHSDateField(label="End date", help_text="For example, 31 3 2029")
    agreed = forms.BooleanField(required=False, label="Agreed (not a draft)")
    publishable = forms.BooleanField(
        required=False,
        label="Publish a public summary",
        help_text="Anyone may then see its title, parties, boroughs, form, status and value band.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet,
        partnerships: QuerySet,
        contract: Contract | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._organisations = {o.pk: o for o in organisations}
        self._partnerships = {p.pk: p for p in partnerships}
        # An edit may keep the contract's commissioner even when this user could not choose it
        # (say staff set it, or the user commissions through a partnership).
        if contract is not None and contract.commissioner_organisation_id:
            self._organisations.setdefault(contract.commissioner_organisation_id, contract.commissioner_organisation)
        if contract is not None and contract.commissioner_partnership_id:
            self._partnerships.setdefault(contract.commissioner_partnership_id, contract.commissioner_partnership)
        self.fields["commissioner"].choices = [
            ("", "Choose a commissioner"),
            *commissioner_choices(self._organisations.values(), self._partnerships.values()),
        ]
        for name in ("lead_provider", "subcontractors", "alliance_partners"):
            self.fields[name].queryset = provider_organisations()
        self.fields["boroughs"].queryset = boroughs()

    def clean_commissioner(self) -> Organisation | Partnership:
        value = self.cleaned_data["commissioner"]
        kind, _, pk = value.partition(":")
        found = (self._organisations if kind == "org" else self._partnerships).get(int(pk)) if pk.isdigit() else None
        if found is None:
            raise forms.ValidationError("Choose a commissioner you commission for.")
        return found

    def clean_annual_value(self) -> Decimal:
        return self.cleaned_data["annual_value"].quantize(PENNY)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must be on or after the start date.")
        return data

    @staticmethod
    def initial_for(contract: Contract) -> dict[str, Any]:
        providers = list(contract.providers.all())
        return {
            "reference": contract.reference,
            "title": contract.title,
            "service_description": contract.service_description,
            "commissioner": (
                f"org:{contract.commissioner_organisation_id}"
                if contract.commissioner_organisation_id
                else f"partnership:{contract.commissioner_partnership_id}"
            ),
            "form": contract.form,
            "lead_provider": next((p.organisation_id for p in providers if p.role == ProviderRole.LEAD), None),
            "subcontractors": [p.organisation_id for p in providers if p.role == ProviderRole.SUBCONTRACTOR],
            "alliance_partners": [p.organisation_id for p in providers if p.role == ProviderRole.ALLIANCE_PARTNER],
            "boroughs": [b.pk for b in contract.boroughs.all()],
            "annual_value": (Decimal(contract.annual_value_pence) / 100).quantize(PENNY),
            "start_date": contract.start_date,
            "end_date": contract.end_date,
            "agreed": contract.agreed,
            "publishable": contract.publishable,
            "version": contract.version,
        }

    @staticmethod
    def as_stored(contract: Contract) -> SimpleNamespace:
        """The stored contract in this form's terms, for the conflict page's "current version" column."""
        providers = list(contract.providers.select_related("organisation"))
        return SimpleNamespace(
            reference=contract.reference,
            title=contract.title,
            service_description=contract.service_description,
            commissioner=contract.commissioner,
            form=contract.form,
            lead_provider=next((p.organisation for p in providers if p.role == ProviderRole.LEAD), None),
            subcontractors=[p.organisation for p in providers if p.role == ProviderRole.SUBCONTRACTOR],
            alliance_partners=[p.organisation for p in providers if p.role == ProviderRole.ALLIANCE_PARTNER],
            boroughs=list(contract.boroughs.all()),
            annual_value=(Decimal(contract.annual_value_pence) / 100).quantize(PENNY),
            start_date=contract.start_date,
            end_date=contract.end_date,
            agreed=contract.agreed,
            publishable=contract.publishable,
            version=contract.version,
        )

    def service_values(self) -> dict[str, Any]:
        """Arguments for services.contract_create / contract_update."""
        data = self.cleaned_data
        commissioner = data["commissioner"]
        providers: list[tuple[Organisation, str]] = []
        if data.get("lead_provider"):
            providers.append((data["lead_provider"], ProviderRole.LEAD))
        providers += [(o, ProviderRole.SUBCONTRACTOR) for o in data.get("subcontractors") or []]
        providers += [(o, ProviderRole.ALLIANCE_PARTNER) for o in data.get("alliance_partners") or []]
        return {
            "reference": data["reference"],
            "title": data["title"],
            "service_description": data["service_description"],
            "commissioner_organisation": commissioner if isinstance(commissioner, Organisation) else None,
            "commissioner_partnership": commissioner if isinstance(commissioner, Partnership) else None,
            "form": data["form"],
            "providers": providers,
            "boroughs": list(data["boroughs"]),
            "annual_value_pence": int(data["annual_value"] * 100),
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "agreed": data["agreed"],
            "publishable": data["publishable"],
        }


class MeasureForm(forms.Form):
    indicator = forms.ModelChoiceField(queryset=Indicator.objects.none(), empty_label="Choose an indicator")
    baseline = forms.DecimalField(
        required=False, max_digits=14, decimal_places=4, help_text="The value before the contract, if known."
    )
    target = forms.DecimalField(
        max_digits=14,
        decimal_places=4,
        help_text="In the indicator's unit. Whether higher or lower is better comes from the indicator.",
    )
    share_percent = forms.DecimalField(
        label="Share of the contract value linked (%)",
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
        help_text="For example 5 or 2.5. A contract's shares total at most 100%.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = Indicator.objects.filter(is_active=True).order_by("name")

    @staticmethod
    def initial_for(measure: ContractMeasure) -> dict[str, Any]:
        return {
            "indicator": measure.indicator_id,
            "baseline": measure.baseline,
            "target": measure.target,
            "share_percent": measure.share_percent,
            "version": measure.version,
        }

    @staticmethod
    def as_stored(measure: ContractMeasure) -> SimpleNamespace:
        return SimpleNamespace(
            indicator=measure.indicator,
            baseline=measure.baseline,
            target=measure.target,
            share_percent=measure.share_percent,
            version=measure.version,
        )

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "indicator": data["indicator"],
            "baseline": data["baseline"],
            "target": data["target"],
            "share_bp": int(data["share_percent"] * 100),
        }


class PartnershipForm(forms.Form):
    name = forms.CharField(max_length=200)
    scope = forms.ChoiceField(choices=PartnershipScope.choices, widget=forms.RadioSelect)
    sub_region = forms.ModelChoiceField(
        queryset=Area.objects.none(),
        required=False,
        label="ICS sub-region",
        empty_label="None",
        help_text="For an ICS sub-region partnership.",
    )
    boroughs = forms.ModelMultipleChoiceField(
        queryset=Area.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For a group-of-boroughs partnership (at least two). Pan-London and sub-region scopes fill these in.",
    )
    lead = OrgChoice(queryset=Organisation.objects.none(), label="Lead commissioner", empty_label="Choose one")
    members = OrgMultiple(
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Other commissioners (ICBs and local authorities) taking part.",
    )
    terms_of_reference = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Markdown: # headings, - lists, **bold**, [links](https://example.org).",
    )
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Linked action plans",
        help_text="The action plans this partnership oversees.",
    )

    def __init__(self, *args: Any, leads: QuerySet, plans: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plans"].queryset = plans.order_by("title")
        self.fields["sub_region"].queryset = Area.objects.filter(level=AreaLevel.SUB_REGION).order_by("name")
        self.fields["boroughs"].queryset = boroughs()
        self.fields["lead"].queryset = leads
        self.fields["members"].queryset = Organisation.objects.filter(type__in=list(COMMISSIONER_TYPES)).order_by(
            "name"
        )

    @staticmethod
    def initial_for(partnership: Partnership) -> dict[str, Any]:
        members = list(partnership.members.all())
        return {
            "name": partnership.name,
            "scope": partnership.scope,
            "sub_region": partnership.sub_region_id,
            "boroughs": [b.pk for b in partnership.boroughs.all()],
            "lead": next((m.organisation_id for m in members if m.role == "lead"), None),
            "members": [m.organisation_id for m in members if m.role != "lead"],
            "terms_of_reference": partnership.terms_of_reference,
            "plans": [p.pk for p in partnership.plans.all()],
        }

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "scope": data["scope"],
            "sub_region": data["sub_region"],
            "boroughs": list(data["boroughs"]),
            "lead": data["lead"],
            "members": list(data["members"]),
            "terms_of_reference": data["terms_of_reference"],
            "plans": list(data["plans"]),
        }
