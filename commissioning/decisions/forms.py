"""Forms for proposals, stances, outcomes, the decisions log's filters and meetings.

Forms parse and check the shape of input only; the rules (who may speak for which member, the
status pipeline, reasons for dissent) live in commissioning/decisions/services.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from actionplan.models import Action
from commissioning.decisions.models import TRANSITIONS, Decision, DecisionStatus, Meeting, StanceChoice
from commissioning.models import Partnership
from kernel.forms import NHSDateField
from stakeholders.models import Organisation, User

MARKDOWN_HINT = "You can use Markdown: headings, lists, links and emphasis."
STANCE_HINTS = {
    StanceChoice.AGREE: "Your organisation supports the proposal.",
    StanceChoice.ABSTAIN: "Your organisation takes no view, and will not stand in its way.",
    StanceChoice.DISAGREE: "Your organisation does not support it, but will not stop it. Say why.",
    StanceChoice.BLOCK: "Your organisation cannot accept it going ahead. Say why.",
}


class OrgChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class ProposalForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        label="Title",
        help_text="A short name for the log, for example “Adopt the crisis care measures”.",
    )
    text = forms.CharField(
        label="What is proposed, and why", help_text=MARKDOWN_HINT, widget=forms.Textarea(attrs={"rows": 6})
    )
    options = forms.CharField(
        required=False,
        label="Options (optional)",
        help_text="If members are choosing between alternatives, write each on its own line (2 to 6).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    deadline = NHSDateField(
        required=False,
        label="Deadline for views",
        help_text="Members record their views until the end of this day. For example, 14 5 2026",
    )
    meeting = forms.ModelChoiceField(
        queryset=Meeting.objects.none(), required=False, label="Meeting (optional)", empty_label="Not at a meeting"
    )

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = Meeting.objects.filter(partnership=partnership).order_by("-date", "-pk")

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["options"] = [line for line in data["options"].splitlines() if line.strip()]
        return data


class StanceForm(forms.Form):
    organisation = OrgChoice(queryset=Organisation.objects.none(), label="Speaking for", empty_label=None)
    stance = forms.ChoiceField(
        choices=StanceChoice.choices, widget=forms.RadioSelect, label="Your organisation's stance"
    )
    preferred_option = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Preferred option")
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason",
        help_text="Required to disagree or block; shown to everyone with your organisation's stance.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, organisations: QuerySet, decision: Decision, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        if decision.options:
            self.fields["preferred_option"].choices = [(o, o) for o in decision.options]
        else:
            del self.fields["preferred_option"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("stance") in ("disagree", "block") and not (data.get("reason") or "").strip():
            self.add_error(
                "reason", "Say why your organisation " + ("blocks." if data["stance"] == "block" else "disagrees.")
            )
        return data


class StatusField(forms.ChoiceField):
    """Offers the moves open from the status the page was drawn with, but takes any status: when
    someone else moved it meanwhile, the stale edit is reported (conflict page), not a bad choice."""

    def valid_value(self, value: Any) -> bool:
        return value in DecisionStatus.values


class OutcomeForm(forms.Form):
    status = StatusField(widget=forms.RadioSelect, label="Status")
    outcome = forms.CharField(
        required=False, label="Outcome statement", help_text=MARKDOWN_HINT, widget=forms.Textarea(attrs={"rows": 4})
    )
    owner = OrgChoice(
        queryset=Organisation.objects.none(),
        required=False,
        label="Owner",
        empty_label="Choose the member who carries it out",
        help_text="Needed once it is agreed.",
    )
    due_date = NHSDateField(required=False, label="Due date", help_text="For example, 30 9 2027")
    actions = forms.ModelMultipleChoiceField(
        queryset=Action.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Linked actions",
        help_text="Actions in the partnership's linked plans that carry the decision out.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, decision: Decision, actions: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = [decision.status, *sorted(TRANSITIONS[decision.status])]
        self.fields["status"].choices = [(s, DecisionStatus(s).label) for s in DecisionStatus.values if s in allowed]
        self.fields["owner"].queryset = Organisation.objects.filter(
            partnership_memberships__partnership=decision.partnership_id
        ).order_by("name")
        self.fields["actions"].queryset = actions
        self.fields["actions"].label_from_instance = lambda a: f"{a.plan.title}: {a.title}"

    @staticmethod
    def initial_for(decision: Decision) -> dict[str, Any]:
        return {
            "status": decision.status,
            "outcome": decision.outcome,
            "owner": decision.owner_id,
            "due_date": decision.due_date,
            "actions": [a.pk for a in decision.actions.all()],
            "version": decision.version,
        }


LOG_STATUSES = [("", "Any status"), *DecisionStatus.choices, ("overdue", "Overdue"), ("dissent", "With dissent")]


class DecisionFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Words in the title, text or outcome")
    status = forms.ChoiceField(required=False, choices=LOG_STATUSES, label="Status")
    owner = OrgChoice(queryset=Organisation.objects.none(), required=False, label="Owner", empty_label="Any owner")
    meeting = forms.ModelChoiceField(
        queryset=Meeting.objects.none(), required=False, label="Meeting", empty_label="Any meeting"
    )
    due_before = NHSDateField(required=False, label="Due before")

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Organisation.objects.filter(
            partnership_memberships__partnership=partnership
        ).order_by("name")
        self.fields["meeting"].queryset = Meeting.objects.filter(partnership=partnership).order_by("-date", "-pk")


class PersonChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        orgs = getattr(obj, "member_org_names", "")
        return f"{obj.display_name} ({orgs})" if orgs else obj.display_name


class MeetingForm(forms.Form):
    date = NHSDateField(label="Date of the meeting", help_text="For example, 14 5 2026")
    title = forms.CharField(max_length=200)
    agenda = forms.CharField(required=False, help_text=MARKDOWN_HINT, widget=forms.Textarea(attrs={"rows": 5}))
    attendees = PersonChoices(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Attendees from member organisations",
    )
    also_attending = forms.CharField(
        required=False,
        label="Also attending",
        help_text="Anyone else, one per line: name and organisation (for example, a service user representative).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minutes = forms.CharField(
        required=False,
        help_text=MARKDOWN_HINT + " Attendees are told when the minutes are first published.",
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["attendees"]
        field.queryset = User.objects.filter(pk__in=[p.pk for p in people]).order_by("display_name")
        names = {p.pk: getattr(p, "member_org_names", "") for p in people}
        field.label_from_instance = lambda u: f"{u.display_name} ({names[u.pk]})" if names.get(u.pk) else u.display_name

    @staticmethod
    def initial_for(meeting: Meeting) -> dict[str, Any]:
        return {
            "date": meeting.date,
            "title": meeting.title,
            "agenda": meeting.agenda,
            "attendees": [u.pk for u in meeting.attendees.all()],
            "also_attending": meeting.also_attending,
            "minutes": meeting.minutes,
            "version": meeting.version,
        }

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["attendees"] = list(data["attendees"])
        return data
