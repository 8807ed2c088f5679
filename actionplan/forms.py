"""Forms for plans, actions, milestones, grants and the evidence library.

Forms only parse and validate input; the services decide and write. Versioned records
(plans and actions) carry their version in a hidden field, so a stale save is caught.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from actionplan import permissions
from actionplan.models import (
    Action,
    ActionStatus,
    EvidenceItem,
    EvidenceType,
    KeyStep,
    Plan,
    PlanScope,
    PlanStatus,
    PlanVisibility,
)
from kernel.forms import NHSDateField
from outcomes.models import Indicator, PriorityArea
from stakeholders.models import Area, AreaLevel, Organisation, User

ANY = [("", "Any")]


def priority_area_choices(current: Any = ()) -> Any:
    """Priority areas in use, plus any retired one the record already names."""
    held = [a.pk for a in current]
    return PriorityArea.objects.filter(Q(is_active=True) | Q(pk__in=held)).order_by("ordering", "name")


def key_step_filter() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Key step",
        queryset=KeyStep.objects.order_by("number"),
        to_field_name="number",
        required=False,
        empty_label="Any",
    )


def priority_area_filter() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Priority area",
        queryset=PriorityArea.objects.order_by("ordering", "name"),
        to_field_name="slug",
        required=False,
        empty_label="Any",
    )


class VersionedForm(forms.Form):
    """A form for a versioned record: the version the user started from travels with it."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# Filters ----------------------------------------------------------------------------------


class PlanFilterForm(forms.Form):
    q = forms.CharField(label="Title contains", required=False, max_length=100)
    scope = forms.ChoiceField(label="Scope", choices=ANY + PlanScope.choices, required=False)
    status = forms.ChoiceField(label="Status", choices=ANY + PlanStatus.choices, required=False)
    borough = forms.ModelChoiceField(
        label="Covers borough",
        queryset=Area.objects.boroughs().order_by("name"),
        to_field_name="short_code",
        required=False,
        empty_label="Any",
    )
    key_step = key_step_filter()
    priority_area = priority_area_filter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_step"].label = "Has actions under key step"
        self.fields["priority_area"].label = "Has actions in priority area"


class EvidenceFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200, help_text="Words in the title or summary.")
    type = forms.ChoiceField(label="Type", choices=ANY + EvidenceType.choices, required=False)
    key_step = key_step_filter()
    priority_area = priority_area_filter()


class ActionFilterForm(forms.Form):
    """My work and the key-step pages: actions by key step and priority area."""

    key_step = key_step_filter()
    priority_area = priority_area_filter()


# Plans ------------------------------------------------------------------------------------


class PlanForm(VersionedForm):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="What the plan is for and how it was agreed. You can use markdown: **bold**, lists, links.",
    )
    scope = forms.ChoiceField(choices=PlanScope.choices, widget=forms.RadioSelect, initial=PlanScope.PAN_LONDON)
    sub_region = forms.ModelChoiceField(
        label="ICS sub-region",
        queryset=Area.objects.sub_regions().order_by("name"),
        required=False,
        help_text="For a sub-region plan.",
        empty_label="Choose a sub-region",
    )
    boroughs = forms.ModelMultipleChoiceField(
        queryset=Area.objects.boroughs().order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For a borough plan: the borough or boroughs it covers.",
    )
    lead_organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), empty_label="Choose")
    partners = forms.ModelMultipleChoiceField(
        label="Partner organisations",
        queryset=Organisation.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Partners can read the plan while it is a draft or partners-only, and comment on it.",
    )
    period_start = NHSDateField(label="Period starts", help_text="For example, 1 4 2026")
    period_end = NHSDateField(label="Period ends", help_text="For example, 31 3 2029")
    visibility = forms.ChoiceField(
        choices=PlanVisibility.choices,
        widget=forms.RadioSelect,
        initial=PlanVisibility.PUBLIC,
        help_text="Public plans can be read by anyone once they leave draft.",
    )

    def __init__(self, *args: Any, user: User, plan: Plan | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_organisation"].queryset = permissions.lead_choices(
            user, plan.lead_organisation if plan else None
        )
        if plan is None:
            self.fields["version"].required = False

    @classmethod
    def initial_for(cls, plan: Plan) -> dict[str, Any]:
        areas = list(plan.areas.all())
        return {
            "version": plan.version,
            "title": plan.title,
            "summary": plan.summary,
            "scope": plan.scope,
            "sub_region": next((a for a in areas if a.level == AreaLevel.SUB_REGION), None),
            "boroughs": [a for a in areas if a.level == AreaLevel.BOROUGH],
            "lead_organisation": plan.lead_organisation,
            "partners": list(plan.partners.all()),
            "period_start": plan.period_start,
            "period_end": plan.period_end,
            "visibility": plan.visibility,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scope = data.get("scope")
        if scope == PlanScope.SUB_REGION and not data.get("sub_region"):
            self.add_error("sub_region", "Choose the ICS sub-region this plan covers.")
        if scope == PlanScope.BOROUGHS and not data.get("boroughs"):
            self.add_error("boroughs", "Choose the borough or boroughs this plan covers.")
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", "The period must end on or after the day it starts.")
        return data

    @property
    def areas(self) -> list[Area]:
        data = self.cleaned_data
        if data["scope"] == PlanScope.SUB_REGION:
            return [data["sub_region"]]
        if data["scope"] == PlanScope.BOROUGHS:
            return list(data["boroughs"])
        return []

    @property
    def values(self) -> dict[str, Any]:
        names = ("title", "summary", "scope", "lead_organisation", "period_start", "period_end", "visibility")
        return {n: self.cleaned_data[n] for n in names}


class PlanStatusForm(VersionedForm):
    status = forms.ChoiceField(label="Move the plan to", widget=forms.RadioSelect)

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(s, PlanStatus(s).label) for s in allowed]


class GrantForm(forms.Form):
    email = forms.EmailField(
        label="A person's email address", required=False, help_text="Leave empty to give access to an organisation."
    )
    organisation = forms.ModelChoiceField(
        label="Or a whole organisation", queryset=Organisation.objects.order_by("name"), required=False
    )
    level = forms.ChoiceField(
        label="What they may do",
        widget=forms.RadioSelect,
        choices=[
            (permissions.VIEW, "View (partners-only plans and drafts)"),
            (permissions.COMMENT, "View and comment"),
            (permissions.CHANGE, "Edit the plan, its actions and milestones"),
            (permissions.RESPOND, "Give official responses to comments"),
            (permissions.MANAGE, "Manage: all of these, change status and give access"),
        ],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email, org = data.get("email"), data.get("organisation")
        if bool(email) == bool(org):
            self.add_error("email", "Enter a person's email address or choose an organisation (one of them).")
        elif email:
            user = User.objects.filter(email__iexact=email, is_active=True).first()
            if user is None:
                self.add_error("email", "Nobody with that email address has an account.")
            data["user"] = user
        return data


class RevokeForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.all(), required=False, widget=forms.HiddenInput)
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.all(), required=False, widget=forms.HiddenInput)


# Actions ----------------------------------------------------------------------------------


class ActionProgressForm(VersionedForm):
    """The in-place edit: status and progress."""

    status = forms.ChoiceField(choices=ActionStatus.choices)
    progress = forms.IntegerField(label="Progress (%)", min_value=0, max_value=100)
    note = forms.CharField(
        label="Progress note (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it changed, for the people who follow the action: shown with today's date.",
        error_messages={"max_length": "A progress note must be 2,000 characters or fewer"},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("status") == ActionStatus.DONE:
            data["progress"] = 100
        return data


class ActionForm(VersionedForm):
    key_step = forms.ModelChoiceField(
        label="Key step",
        queryset=KeyStep.objects.order_by("number"),
        empty_label="Choose a key step",
        help_text="How London's partners work together on it: one of the plan of action's nine steps.",
    )
    priority_areas = forms.ModelMultipleChoiceField(
        label="Priority areas",
        queryset=PriorityArea.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the action improves. Choose any that apply.",
    )
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, help_text="You can use markdown."
    )
    owner_organisation = forms.ModelChoiceField(
        label="Owner organisation", queryset=Organisation.objects.order_by("name"), empty_label="Choose"
    )
    lead_email = forms.EmailField(
        label="Accountable lead's email address",
        required=False,
        help_text="The person answerable for this action. They need an account on the portal.",
    )
    partners = forms.ModelMultipleChoiceField(
        label="Partner organisations",
        queryset=Organisation.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.ChoiceField(choices=ActionStatus.choices, initial=ActionStatus.NOT_STARTED)
    progress = forms.IntegerField(label="Progress (%)", min_value=0, max_value=100, initial=0)
    start_date = NHSDateField(label="Start date", required=False, help_text="For example, 1 4 2026")
    due_date = NHSDateField(label="Due date", required=False, help_text="For example, 31 3 2027")
    weight = forms.IntegerField(
        min_value=1,
        max_value=100,
        initial=1,
        help_text="How much this action counts in its key step's and the plan's progress (1 to 100).",
    )
    dependencies = forms.ModelMultipleChoiceField(
        label="Depends on", queryset=Action.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    indicators = forms.ModelMultipleChoiceField(
        label="Linked indicators",
        queryset=Indicator.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Indicators this action should move. Set targets on the action's page.",
    )
    evidence = forms.ModelMultipleChoiceField(
        label="Evidence cited",
        queryset=EvidenceItem.objects.order_by("title"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, plan: Plan, action: Action | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        others = Action.objects.filter(plan=plan).select_related("key_step").order_by("key_step__number", "title")
        if action is not None:
            others = others.exclude(pk=action.pk)
        else:
            self.fields["version"].required = False
        self.fields["dependencies"].queryset = others
        self.fields["priority_areas"].queryset = priority_area_choices(
            action.priority_areas.all() if action is not None else ()
        )
        self.fields["dependencies"].label_from_instance = lambda a: f"{a.title} (key step {a.key_step.number})"

    @classmethod
    def initial_for(cls, action: Action) -> dict[str, Any]:
        return {
            "version": action.version,
            "key_step": action.key_step,
            "priority_areas": list(action.priority_areas.all()),
            "title": action.title,
            "description": action.description,
            "owner_organisation": action.owner_organisation,
            "lead_email": action.lead.email if action.lead else "",
            "partners": list(action.partners.all()),
            "status": action.status,
            "progress": action.progress,
            "start_date": action.start_date,
            "due_date": action.due_date,
            "weight": action.weight,
            "dependencies": list(action.dependencies.all()),
            "indicators": [link.indicator for link in action.indicator_links.all()],
            "evidence": list(action.evidence.all()),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email = data.get("lead_email")
        data["lead"] = None
        if email:
            lead = User.objects.filter(email__iexact=email, is_active=True).first()
            if lead is None:
                self.add_error("lead_email", "Nobody with that email address has an account.")
            data["lead"] = lead
        start, due = data.get("start_date"), data.get("due_date")
        if start and due and due < start:
            self.add_error("due_date", "The due date must be on or after the start date.")
        if data.get("status") == ActionStatus.DONE:
            data["progress"] = 100
        return data

    @property
    def values(self) -> dict[str, Any]:
        names = ("key_step", "title", "description", "owner_organisation", "lead", "status", "progress")
        names += ("start_date", "due_date", "weight")
        return {n: self.cleaned_data[n] for n in names}


class TargetForm(forms.Form):
    target = forms.DecimalField(max_digits=14, decimal_places=3, required=False, label="Target")
    target_note = forms.CharField(max_length=200, required=False, label="About the target")


class MilestoneForm(forms.Form):
    title = forms.CharField(max_length=200)
    due = NHSDateField(label="Due on", required=False, help_text="For example, 30 9 2026")
    done_on = NHSDateField(label="Done on", required=False, help_text="Leave empty until done. For example, 14 5 2026")


# Evidence ---------------------------------------------------------------------------------


class EvidenceForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), help_text="What it found or recommends. You can use markdown."
    )
    type = forms.ChoiceField(choices=EvidenceType.choices, widget=forms.RadioSelect)
    url = forms.URLField(label="Link", required=False, max_length=500, assume_scheme="https")
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), required=False, empty_label="None", help_text="Who produced it."
    )
    key_steps = forms.ModelMultipleChoiceField(
        label="Key steps it informs",
        queryset=KeyStep.objects.order_by("number"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priority_areas = forms.ModelMultipleChoiceField(
        label="Priority areas it informs",
        queryset=PriorityArea.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, item: EvidenceItem | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.order_by("name")
        self.fields["priority_areas"].queryset = priority_area_choices(
            item.priority_areas.all() if item is not None else ()
        )

    @classmethod
    def initial_for(cls, item: EvidenceItem) -> dict[str, Any]:
        return {
            "title": item.title,
            "summary": item.summary,
            "type": item.type,
            "url": item.url,
            "organisation": item.organisation,
            "key_steps": list(item.key_steps.all()),
            "priority_areas": list(item.priority_areas.all()),
        }
