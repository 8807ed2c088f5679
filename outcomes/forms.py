"""Forms for the outcomes pages. They parse and check shapes; the rules live in services and ingest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from outcomes.breakdowns import HEADLINE, Breakdown, breakdown_label, group_label, groups_for, validate_age_bands
from outcomes.models import Indicator, Measure, OutcomeValue, PeriodType, ValueStatus
from outcomes.periods import next_period, parse_any_period
from outcomes.selectors import format_number
from stakeholders.models import Area, Organisation

PERIOD_EXAMPLES = {
    PeriodType.MONTH: "a month, for example 2026-04",
    PeriodType.QUARTER: "a calendar quarter, for example 2026-Q1 (January to March)",
    PeriodType.YEAR: "a year, for example 2026",
}
# /indicators/new/ is the create page, so no indicator may be called "new".
RESERVED_CODES = frozenset({"new"})
FINANCIAL_QUARTER_EXAMPLE = "an NHS financial quarter, for example 2025-26 Q1 (April to June 2025)"
PERIOD_HINT = (
    "Write months as 2026-04, calendar quarters as 2026-Q1, financial quarters as 2025-26 Q1 "
    "(April to June 2025) and years as 2026."
)


def period_example(indicator: Indicator) -> str:
    if indicator.period_kind == "fquarter":
        return FINANCIAL_QUARTER_EXAMPLE
    return PERIOD_EXAMPLES[PeriodType(indicator.period_type)]


ALL_PEOPLE = "All people"


def group_choices(indicator: Indicator) -> list[tuple[str, str]]:
    """("breakdown:group", "Breakdown: group") for every group the indicator accepts, all people first."""
    choices = [(HEADLINE, ALL_PEOPLE)]
    for breakdown in indicator.breakdowns:
        choices += [
            (f"{breakdown}:{code}", f"{breakdown_label(breakdown)}: {label}")
            for code, label in groups_for(breakdown, indicator.age_bands)
        ]
    return choices


def describe_group(breakdown: str, group: str) -> str:
    """ "All people", or "Ethnic group: White" - what people read for a value's group."""
    return f"{breakdown_label(breakdown)}: {group_label(breakdown, group)}" if breakdown else ALL_PEOPLE


def parse_group_choice(indicator: Indicator, value: str) -> tuple[str, str] | None:
    """(breakdown, group) of a group choice ("", "" for all people), or None if the indicator has no such group."""
    value = (value or "").strip().lower()
    if value == HEADLINE:
        return HEADLINE, HEADLINE
    if value not in dict(group_choices(indicator)):
        return None
    breakdown, group = value.split(":", 1)
    return breakdown, group


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# Catalogue ------------------------------------------------------------------------------


class IndicatorFilterForm(forms.Form):
    q = forms.CharField(label="Search by name, code or definition", required=False, max_length=200)
    measure = forms.ChoiceField(label="Measure", required=False, choices=[("", "All measures"), *Measure.choices])
    period_type = forms.ChoiceField(
        label="Reported by", required=False, choices=[("", "Any period"), *PeriodType.choices]
    )


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "definition",
            "rationale",
            "measure",
            "numerator_definition",
            "denominator_definition",
            "polarity",
            "period_type",
            "financial_quarters",
            "unit",
            "data_source",
            "breakdowns",
            "age_bands",
            "is_active",
        ]
        labels = {
            "code": "Code",
            "name": "Name",
            "definition": "Definition",
            "rationale": "Why it matters",
            "measure": "Measure",
            "numerator_definition": "Numerator: what is counted",
            "denominator_definition": "Denominator: out of what",
            "polarity": "Which way is better",
            "period_type": "Reported by",
            "financial_quarters": "Quarters are NHS financial quarters (April to June is Q1)",
            "unit": "Unit",
            "data_source": "Data source",
            "is_active": "Still collected (providers can submit values)",
        }
        widgets = {
            "definition": forms.Textarea(attrs={"rows": 4}),
            "rationale": forms.Textarea(attrs={"rows": 4}),
            "numerator_definition": forms.Textarea(attrs={"rows": 2}),
            "denominator_definition": forms.Textarea(attrs={"rows": 2}),
            "code": forms.TextInput(attrs={"class": "nhsuk-input--width-20"}),
            "unit": forms.TextInput(attrs={"class": "nhsuk-input--width-10"}),
        }

    breakdowns = forms.MultipleChoiceField(
        label="Population groups it accepts",
        required=False,
        choices=Breakdown.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Providers may then submit values for each group of these breakdowns, as well as for all people."
        " Select all that apply.",
    )
    age_bands = forms.CharField(
        label="Age bands",
        required=False,
        max_length=200,
        help_text="Needed when it accepts age bands. List them youngest first, separated by commas, for example"
        ' "0-17, 18-64, 65+". "Not known" is always added.',
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-20", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["age_bands"] = ", ".join(self.instance.age_bands or [])
        if self.instance.pk:
            # Uploads and scripts name indicators by code: it never changes once created.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "The code cannot change: uploads and scripts use it."

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if code in RESERVED_CODES:
            raise forms.ValidationError(f"'{code}' is a word the portal's addresses use. Choose another code.")
        return code

    def clean_age_bands(self) -> list[str]:
        text = self.cleaned_data.get("age_bands") or ""
        bands = [band.strip().replace(" ", "") for band in text.split(",") if band.strip()]
        problem = validate_age_bands(bands)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return bands

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = data.get("breakdowns") or []
        bands = data.get("age_bands")
        if bands is None:  # already in error
            return data
        if Breakdown.AGE in chosen and not bands:
            self.add_error("age_bands", 'Enter the age bands, for example "0-17, 18-64, 65+"')
        elif bands and Breakdown.AGE not in chosen:
            self.add_error("age_bands", "Select age band under population groups, or clear the age bands")
        return data


# Submitting -----------------------------------------------------------------------------


class OrganisationChoiceMixin:
    """An organisation field offering the user's submitting organisations, hidden when there is one."""

    def _set_organisations(self, organisations: QuerySet[Organisation]) -> None:
        field = self.fields["organisation"]  # type: ignore[attr-defined]
        field.queryset = organisations
        self.organisation_list = list(organisations)
        if len(self.organisation_list) == 1:
            field.widget = forms.HiddenInput()
            field.initial = self.organisation_list[0].pk
            field.required = False

    def clean_organisation(self) -> Organisation:
        organisation = self.cleaned_data.get("organisation")  # type: ignore[attr-defined]
        if organisation is None:
            if len(self.organisation_list) != 1:
                raise forms.ValidationError("Choose an organisation", code="required")
            organisation = self.organisation_list[0]
        return organisation


class GridChoiceForm(OrganisationChoiceMixin, forms.Form):
    """Step 1 of the web form: organisation, indicator and period."""

    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        empty_label="Choose an organisation",
        error_messages={"required": "Choose an organisation"},
    )
    indicator = forms.ModelChoiceField(
        label="Indicator",
        queryset=Indicator.objects.none(),
        to_field_name="code",
        empty_label="Choose an indicator",
        error_messages={
            "required": "Choose an indicator",
            "invalid_choice": "Choose an indicator from the list (only indicators still collected)",
        },
    )
    period = forms.CharField(
        label="Period",
        max_length=20,
        help_text=PERIOD_HINT,
        error_messages={"required": "Enter the period"},
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10"}),
    )
    group = forms.CharField(
        label="Values for",
        required=False,
        max_length=40,
        help_text="All people, or one population group the indicator accepts.",
        widget=forms.HiddenInput(),
    )

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet[Organisation],
        indicators: QuerySet[Indicator],
        today: dt.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._set_organisations(organisations)
        self.today = today
        field = self.fields["indicator"]
        field.queryset = indicators
        field.label_from_instance = lambda i: (
            f"{i.name} (by financial quarter)"
            if i.period_kind == "fquarter"
            else f"{i.name} ({i.get_period_type_display().lower()}ly)"
        )
        indicator = self._chosen_indicator()
        if indicator is not None:
            self.fields[
                "period"
            ].help_text = (
                f"{indicator.name} is reported by {indicator.period_kind_display}: write {period_example(indicator)}."
            )
            if indicator.breakdowns:
                # A select of the indicator's groups; clean() checks the choice against them.
                choices = group_choices(indicator)
                self.fields["group"].widget = forms.Select(choices=choices)
                self.fields["group"].choices = choices  # type: ignore[attr-defined]

    def _chosen_indicator(self) -> Indicator | None:
        code = self.data.get("indicator") if self.is_bound else None
        if not code:
            return None
        return next((i for i in self.fields["indicator"].queryset if i.code == code), None)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        indicator: Indicator | None = data.get("indicator")
        text = (data.get("period") or "").strip()
        if indicator is None or not text:
            return data
        start = indicator.parse_period(text)
        if start is None:
            self.add_error(
                "period",
                f"Enter the period as {period_example(indicator)}: "
                f"{indicator.name} is reported by {indicator.period_kind_display}",
            )
            return data
        if next_period(indicator.period_type, start) > self.today:
            self.add_error("period", f"The period {indicator.period_description(start)} has not ended yet")
            return data
        data["period_start"] = start
        data["period"] = indicator.period_label(start)
        chosen = parse_group_choice(indicator, data.get("group") or "")
        if chosen is None:
            self.add_error("group", f"Choose all people or a population group that {indicator.name} accepts")
            return data
        data["breakdown"], data["population_group"] = chosen
        data["group"] = f"{chosen[0]}:{chosen[1]}" if chosen[0] else ""
        return data


class GridForm(forms.Form):
    """Step 2 of the web form: one row of inputs per borough the organisation serves.

    Rows are numbered as the person sees them: the first borough is row 1, blank rows included.
    """

    atomic = forms.BooleanField(
        label="All or nothing",
        required=False,
        help_text=(
            "If any row has an error, save no rows. Otherwise the rows without errors are saved "
            "and the others stay here, as you typed them, to correct."
        ),
    )
    amend_approved = forms.BooleanField(
        label="These changes amend approved values",
        required=False,
        help_text="Approved values are locked. Tick this to change them; they go back for review.",
    )

    def __init__(
        self,
        *args: Any,
        boroughs: list[Area],
        indicator: Indicator,
        current: dict[int, OutcomeValue],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.boroughs = boroughs
        self.indicator = indicator
        for borough in boroughs:
            value = current.get(borough.pk)
            code = borough.short_code
            self.fields[f"num_{code}"] = forms.CharField(
                label=f"Numerator for {borough.name}",
                required=False,
                initial=format_number(value.numerator) if value else "",
            )
            if indicator.needs_denominator:
                self.fields[f"den_{code}"] = forms.CharField(
                    label=f"Denominator for {borough.name}",
                    required=False,
                    initial=format_number(value.denominator) if value else "",
                )
            self.fields[f"note_{code}"] = forms.CharField(
                label=f"Note for {borough.name}", required=False, initial=value.note if value else ""
            )

    def grid_rows(self) -> list[dict[str, Any] | None]:
        """Every row in borough order: the import pipeline's dict, or None where left blank."""
        rows: list[dict[str, Any] | None] = []
        for borough in self.boroughs:
            code = borough.short_code
            numerator = self.cleaned_data.get(f"num_{code}", "").strip()
            denominator = self.cleaned_data.get(f"den_{code}", "").strip()
            note = self.cleaned_data.get(f"note_{code}", "").strip()
            if not (numerator or denominator or note):
                rows.append(None)
                continue
            rows.append(
                {
                    "borough": borough,
                    "borough_code": borough.code,
                    "numerator": numerator,
                    "denominator": denominator,
                    "note": note,
                }
            )
        return rows

    def rows(self) -> list[dict[str, str]]:
        """The non-blank rows, in borough order."""
        return [row for row in self.grid_rows() if row is not None]

    def field_for(self, borough: Area, column: str) -> str:
        """The input a problem with this borough's row and column belongs beside."""
        code = borough.short_code
        name = {"denominator": f"den_{code}", "note": f"note_{code}"}.get(column, f"num_{code}")
        return name if name in self.fields else f"num_{code}"

    def add_row_issues(self, issues: Iterable[Any]) -> int:
        """Put a submission's row errors beside the inputs they are about; how many rows had one."""
        rows = set()
        for issue in issues:
            number = issue.row_number
            if not number or not 1 <= number <= len(self.boroughs):
                self.add_error(None, issue.message)
                continue
            borough = self.boroughs[number - 1]
            rows.add(number)
            self.add_error(self.field_for(borough, issue.column), f"{borough.name} (row {number}): {issue.message}")
        return len(rows)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and not self.rows():
            raise forms.ValidationError("Enter at least one value", code="empty")
        return data


class UploadForm(OrganisationChoiceMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        empty_label="Choose an organisation",
        error_messages={"required": "Choose an organisation"},
        help_text="Rows are submitted for this organisation unless the file has an organisation column.",
    )
    file = forms.FileField(
        label="CSV file",
        error_messages={"required": "Choose a CSV file to upload", "empty": "The file is empty"},
    )
    dry_run = forms.BooleanField(
        label="Trial run only (dry run)",
        required=False,
        help_text="Check the file and see the report without saving anything.",
    )
    atomic = forms.BooleanField(
        label="All or nothing",
        required=False,
        help_text="If any row has an error, save no rows. Otherwise good rows are saved and bad rows reported.",
    )
    amend_approved = forms.BooleanField(
        label="This file amends approved values",
        required=False,
        help_text="Approved values are locked. Tick this to change them; they go back for review.",
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_organisations(organisations)
        self.fields["file"].help_text = (
            "Columns indicator_code, borough_code, period, numerator, denominator and note. "
            f"Saved as CSV UTF-8; at most {_size(settings.OUTCOMES_MAX_UPLOAD_BYTES)}."
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.OUTCOMES_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {_size(upload.size)}; the most is {_size(limit)}. Split it into smaller files.",
                code="too_large",
            )
        return upload

    @property
    def too_large(self) -> bool:
        return any(e.code == "too_large" for e in self.errors.as_data().get("file", []))


class TemplateForm(forms.Form):
    """Which CSV template to download: for which organisation, and one indicator or all."""

    organisation = forms.ModelChoiceField(
        label="Organisation", queryset=Organisation.objects.none(), required=False, empty_label=None
    )
    indicator = forms.ModelChoiceField(
        label="Indicator",
        queryset=Indicator.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="Every indicator still collected",
    )

    def __init__(
        self, *args: Any, organisations: QuerySet[Organisation], indicators: QuerySet[Indicator], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.organisation_list = list(organisations)
        self.fields["indicator"].queryset = indicators

    def clean_organisation(self) -> Organisation | None:
        organisation = self.cleaned_data.get("organisation")
        if organisation is None and self.organisation_list:
            return self.organisation_list[0]
        if organisation is None:
            raise forms.ValidationError("You do not submit data for any organisation.")
        return organisation


# Values and review -----------------------------------------------------------------------


ANY_STATUS = "Any status"


class ValueFilterForm(forms.Form):
    indicator = forms.ModelChoiceField(
        label="Indicator", required=False, queryset=Indicator.objects.none(), to_field_name="code"
    )
    borough = forms.ModelChoiceField(
        label="Borough", required=False, queryset=Area.objects.none(), to_field_name="code"
    )
    period = forms.CharField(
        label="Period",
        required=False,
        max_length=20,
        help_text="For example 2026-04, 2026-Q1, 2025-26 Q1 or 2026",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10"}),
    )
    status = forms.ChoiceField(label="Status", required=False, choices=[])

    def __init__(
        self,
        *args: Any,
        indicators: QuerySet[Indicator],
        boroughs: QuerySet[Area],
        default_status_label: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = indicators
        self.fields["indicator"].empty_label = "All indicators"
        self.fields["borough"].queryset = boroughs
        self.fields["borough"].empty_label = "All boroughs"
        # "Any status" is offered once: as the default where the list shows every status already
        # (a provider's values), as an extra choice where the default is narrower (the review queue).
        choices = [("", default_status_label), *ValueStatus.choices]
        if default_status_label != ANY_STATUS:
            choices.append(("any", ANY_STATUS))
        self.fields["status"].choices = choices

    def clean_period(self) -> str:
        text = " ".join(self.cleaned_data["period"].split()).upper()
        if text and parse_any_period(text) is None:
            raise forms.ValidationError("Enter a period like 2026-04, 2026-Q1, 2025-26 Q1 or 2026")
        return text

    def statuses(self, default: tuple[str, ...]) -> tuple[str, ...]:
        status = self.cleaned_data.get("status", "") if self.is_valid() else ""
        if status == "any":
            return ()
        return (status,) if status else default


REVIEW_ACTIONS = {"approve": ValueStatus.APPROVED, "query": ValueStatus.QUERIED, "reject": ValueStatus.REJECTED}


class IdListField(forms.Field):
    """A list of ids from checkboxes sharing one name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError):
            raise forms.ValidationError("Select values from the list", code="invalid") from None

    def validate(self, value: list[int]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ReviewForm(forms.Form):
    values = IdListField(label="Values", error_messages={"required": "Select at least one value"})
    action = forms.ChoiceField(
        choices=[(k, k.title()) for k in REVIEW_ACTIONS], error_messages={"required": "Choose approve, query or reject"}
    )
    message = forms.CharField(
        label="Reason, for the provider",
        required=False,
        max_length=2000,
        help_text="Needed when you query or reject values: say what the provider should check or put right.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("message") or "").strip():
            if data.get("action") == "query":
                self.add_error("message", "Say what the provider should check")
            elif data.get("action") == "reject":
                self.add_error("message", "Say why the values are rejected, so the provider can put them right")
        return data


class PopulationUploadForm(forms.Form):
    file = forms.FileField(
        label="Populations CSV file",
        help_text="Columns area_code (GSS code, e.g. E09000007), year and population. Replaces those area-years.",
        error_messages={"required": "Choose a CSV file to upload"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.OUTCOMES_MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is too large", code="too_large")
        return upload
