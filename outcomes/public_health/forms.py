"""The trend page's GET form: which areas and groups to draw beside London (at most four)."""

from __future__ import annotations

from typing import Any

from django import forms

from outcomes.breakdowns import breakdown_label, groups_for
from outcomes.models import Indicator, Measure, Metric

MAX_SERIES = 4  # besides London
# Counts are on the scale of their area or group: a borough's beside London's total (or beside a
# bigger borough's) would say only which is bigger, so a count is drawn one series at a time.
COUNT_HELP = (
    "A count is drawn for one area or group at a time: areas and groups differ in size, so their counts "
    "are not set side by side. With none chosen, London's."
)


def group_choices(indicator: Indicator) -> list[tuple[str, str]]:
    """("ethnicity:black", "Ethnic group: Black, ...") for every group of the indicator's breakdowns."""
    return [
        (f"{breakdown}:{code}", f"{breakdown_label(breakdown)}: {label}")
        for breakdown in indicator.breakdowns or []
        for code, label in groups_for(breakdown, indicator.age_bands or [])
    ]


class TrendForm(forms.Form):
    area = forms.MultipleChoiceField(
        label="Areas",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"London is always shown. Choose up to {MAX_SERIES} areas and groups in all.",
    )
    group = forms.MultipleChoiceField(
        label="Population groups (London)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    basis = forms.ChoiceField(label="Figures", choices=Metric.Basis.choices, widget=forms.RadioSelect, required=False)

    def __init__(self, *args: Any, areas: list, indicator: Indicator, provisional: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(a.code, a.name) for a in areas]
        groups = group_choices(indicator)
        if groups:
            self.fields["group"].choices = groups
        else:
            del self.fields["group"]
        if not provisional:
            del self.fields["basis"]
        self.count = indicator.measure == Measure.COUNT
        if self.count:
            self.fields["area"].help_text = COUNT_HELP

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = len(data.get("area") or []) + len(data.get("group") or [])
        if self.count and chosen > 1:
            self.add_error(
                "area",
                "A count is drawn for one area or group at a time (areas and groups differ in size): "
                f"choose one. You chose {chosen}.",
            )
        elif chosen > MAX_SERIES:
            error = f"Choose at most {MAX_SERIES} areas and groups in all: you chose {chosen}."
            self.add_error("area", error)
        return data
