"""Forms for recording a commitment, signing, recording why a partner has not signed, naming
representatives and adding co-owners. They check the shape of input; the rules live in
actionplan/commitments/services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from actionplan.models import Action, KeyStep
from stakeholders.models import Organisation, User


class OrgChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class StepChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number}. {obj.title}"


class ActionChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.title} (step {obj.key_step.number})"


class CommitmentForm(forms.Form):
    organisation = OrgChoice(queryset=Organisation.objects.none(), label="Partner organisation", empty_label=None)
    key_step = StepChoice(queryset=KeyStep.objects.order_by("number"), label="Key step", empty_label=None)
    contribution = forms.CharField(
        required=False,
        max_length=2000,
        label="What your organisation commits to",
        help_text="In a sentence or two, what you will do under this step. Or link actions below, or both.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    actions = ActionChoices(
        queryset=Action.objects.none(),
        required=False,
        label="Actions your organisation owns or co-owns (optional)",
        widget=forms.CheckboxSelectMultiple,
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, organisations: QuerySet[Organisation], actions: QuerySet[Action], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["actions"].queryset = actions

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("contribution") or "").strip() and not data.get("actions") and not self.errors:
            self.add_error("contribution", "Say what your organisation will do, or link an action it owns.")
        return data


class SignForm(forms.Form):
    organisation = OrgChoice(queryset=Organisation.objects.none(), label="Sign for", empty_label=None)
    confirm = forms.BooleanField(
        label="I am accountable for these commitments and sign them for my organisation",
        error_messages={"required": "Confirm that you sign these commitments for your organisation."},
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class WaiverForm(forms.Form):
    organisation = OrgChoice(queryset=Organisation.objects.none(), label="Partner organisation", empty_label=None)
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Why it has not signed",
        help_text="Shown on the commitment matrix and kept in the plan's history. Leave empty to clear a reason.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.get_lived_experience_display().removeprefix('Yes, as ')})"


class RepresentativeForm(forms.Form):
    user = PersonChoice(
        queryset=User.objects.none(),
        label="Service user or carer",
        help_text="People who have said on their profile that they use services or care for someone who does.",
    )

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


class CoOwnerForm(forms.Form):
    organisation = OrgChoice(queryset=Organisation.objects.none(), label="Organisation")
    share = forms.CharField(
        max_length=300,
        label="Its share",
        help_text="What this organisation is accountable for in the action, in a sentence.",
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
