"""Forms for reporting schedules and the completeness filters. Rules across models live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from commissioning.forms import OrgChoice, boroughs, provider_organisations
from commissioning.schedules.models import ReportingSchedule
from outcomes.models import Indicator, PeriodType, parse_period, period_label
from stakeholders.models import Area, Organisation


class IndicatorMultiple(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code}, every {obj.period_type})"


class AreaMultiple(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class ScheduleForm(forms.Form):
    """Create or edit a schedule. `version` carries the version the user started from."""

    name = forms.CharField(
        label="Name of the return",
        max_length=200,
        help_text="For example, Crisis care monthly return.",
        error_messages={"required": "Enter a name for the return."},
    )
    commissioner = OrgChoice(
        label="Commissioning organisation",
        queryset=Organisation.objects.none(),
        empty_label="Choose your organisation",
        error_messages={"required": "Choose the commissioning organisation that sets this schedule."},
    )
    provider = OrgChoice(
        label="Provider",
        queryset=Organisation.objects.none(),
        empty_label="Choose a provider",
        help_text="The organisation expected to submit the data.",
        error_messages={"required": "Choose the provider expected to submit the data."},
    )
    period_type = forms.ChoiceField(
        label="Reported every",
        choices=PeriodType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how often the data is reported."},
    )
    indicators = IndicatorMultiple(
        label="Indicators",
        queryset=Indicator.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="All reported as often as chosen above.",
        error_messages={"required": "Choose at least one indicator the provider must submit."},
    )
    boroughs = AreaMultiple(
        label="Boroughs",
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Boroughs your organisation commissions for and the provider serves.",
        error_messages={"required": "Choose at least one borough."},
    )
    first_period = forms.CharField(
        label="First period expected",
        max_length=7,
        help_text="For example 2026-04 for a month, 2026-Q1 for a quarter, 2026 for a year.",
        error_messages={"required": "Enter the first period the provider must report."},
    )
    deadline_days = forms.IntegerField(
        label="Deadline: days after a period ends",
        min_value=0,
        max_value=366,
        initial=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "required": "Enter the number of days after a period ends that the data is due.",
            "invalid": "Enter the deadline as a whole number of days, like 20.",
        },
    )
    reminder_days = forms.IntegerField(
        label="Reminder: days before the deadline",
        min_value=1,
        max_value=60,
        initial=5,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "required": "Enter how many days before the deadline to remind the provider.",
            "invalid": "Enter the reminder as a whole number of days, like 5.",
        },
    )
    is_active = forms.BooleanField(
        label="In use", required=False, initial=True, help_text="Untick to stop expecting returns."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, commissioners: QuerySet, schedule: ReportingSchedule | None = None, **kw: Any):
        super().__init__(*args, **kw)
        queryset = commissioners
        if schedule is not None:
            queryset = Organisation.objects.filter(
                pk__in=[*commissioners.values_list("pk", flat=True), schedule.commissioner_id]
            )
        self.fields["commissioner"].queryset = queryset.order_by("name")
        self.fields["provider"].queryset = provider_organisations()
        self.fields["indicators"].queryset = Indicator.objects.filter(is_active=True).order_by("period_type", "name")
        self.fields["boroughs"].queryset = boroughs()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text, period_type = data.get("first_period"), data.get("period_type")
        if text and period_type:
            start = parse_period(period_type, text)
            if start is None:
                examples = {"month": "2026-04", "quarter": "2026-Q1", "year": "2026"}
                self.add_error(
                    "first_period",
                    f"Write the first period as a {period_type}, like {examples[period_type]}.",
                )
            else:
                data["first_period"] = start
        return data

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "commissioner": data["commissioner"],
            "provider": data["provider"],
            "period_type": data["period_type"],
            "first_period": data["first_period"],
            "deadline_days": data["deadline_days"],
            "reminder_days": data["reminder_days"],
            "is_active": data["is_active"],
            "indicators": list(data["indicators"]),
            "boroughs": list(data["boroughs"]),
        }

    @staticmethod
    def initial_for(schedule: ReportingSchedule) -> dict[str, Any]:
        return {
            "name": schedule.name,
            "commissioner": schedule.commissioner_id,
            "provider": schedule.provider_id,
            "period_type": schedule.period_type,
            "indicators": [i.pk for i in schedule.indicators.all()],
            "boroughs": [b.pk for b in schedule.boroughs.all()],
            "first_period": period_label(schedule.period_type, schedule.first_period),
            "deadline_days": schedule.deadline_days,
            "reminder_days": schedule.reminder_days,
            "is_active": schedule.is_active,
            "version": schedule.version,
        }


class CompletenessFilterForm(forms.Form):
    """Optional filters; an unknown id is ignored, never an error page."""

    provider = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    borough = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    indicator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    period_from = forms.DateField(
        required=False,
        label="Periods from",
        help_text="For example 2026-04-01.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    period_to = forms.DateField(
        required=False,
        label="Periods to",
        help_text="For example 2026-09-30.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self,
        *args: Any,
        providers: list[tuple[int, str]],
        boroughs: list[tuple[int, str]],
        indicators: list[tuple[int, str]],
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.fields["provider"].choices = [("", "All providers"), *providers]
        self.fields["borough"].choices = [("", "All boroughs"), *boroughs]
        self.fields["indicator"].choices = [("", "All indicators"), *indicators]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and end < start:
            self.add_error("period_to", "The last period must be on or after the first.")
        return data
