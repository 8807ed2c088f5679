"""Forms for the duplicates pages: filtering candidates, dismissing a pair, merging it, splitting a merge."""

from __future__ import annotations

from typing import Any

from django import forms

from actionplan.duplicates.selectors import CandidateFilters, filter_choices
from actionplan.models import Action
from actionplan.permissions import AnyUser


class PlanChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.title


class CandidateFilterForm(forms.Form):
    priority_area = forms.ModelChoiceField(
        queryset=None, required=False, label="Priority area", empty_label="Any priority area", to_field_name="slug"
    )
    borough = forms.ModelChoiceField(
        queryset=None, required=False, label="Borough", empty_label="Any borough", to_field_name="code"
    )
    plan = PlanChoice(queryset=None, required=False, label="Plan", empty_label="Any plan", to_field_name="slug")

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas, boroughs, plans = filter_choices(user)
        self.fields["priority_area"].queryset = areas
        self.fields["borough"].queryset = boroughs
        self.fields["plan"].queryset = plans

    def filters(self) -> CandidateFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return CandidateFilters(
            priority_area=data["priority_area"].pk if data.get("priority_area") else None,
            borough=data["borough"].pk if data.get("borough") else None,
            plan=data["plan"].pk if data.get("plan") else None,
        )


REASON_ERRORS = {"required": "Say why these are not the same work: the reason is kept with the dismissal."}


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why are these not the same work?",
        max_length=1000,
        error_messages=REASON_ERRORS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MergeForm(forms.Form):
    keep = forms.TypedChoiceField(
        label="Which action stays?",
        coerce=int,
        widget=forms.RadioSelect,
        help_text="The other action is retired into it: its owner becomes a co-owner, and its milestones, "
        "indicators, evidence, partners, priority areas and dependencies move across.",
        error_messages={
            "required": "Choose the action that stays.",
            "invalid_choice": "Choose one of the two actions.",
        },
    )
    reason = forms.CharField(
        label="Why merge them? (optional)", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, a: Action, b: Action, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = [(x.pk, f"{x.title} ({x.plan.title})") for x in (a, b)]


class SplitForm(forms.Form):
    reason = forms.CharField(
        label="Why split them? (optional)", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
