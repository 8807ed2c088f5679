"""Forms for the voice pages. They parse input; the rules live in services."""

from __future__ import annotations

from django import forms

from actionplan.models import Action, Disposition, EmailMode, NotificationKind, Plan

MARKDOWN_HINT = (
    "You can use Markdown: *italics*, **bold**, lists and links. Do not include anything that "
    "identifies you or someone else unless you are happy for it to be public."
)


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Your comment",
        help_text=MARKDOWN_HINT,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": "Enter your comment.",
            "max_length": "Your comment must be 5,000 characters or fewer.",
        },
    )
    show_badge = forms.BooleanField(
        label="Show my lived-experience badge beside this comment",
        required=False,
        help_text="Only if you told us you use services or care for someone who does.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None or not getattr(user, "has_lived_experience", False):
            del self.fields["show_badge"]
        elif not self.is_bound:
            self.initial.setdefault("show_badge", getattr(user, "show_lived_experience", False))


class EditCommentForm(forms.Form):
    body = CommentForm.base_fields["body"]


class ResponseForm(forms.Form):
    disposition = forms.ChoiceField(
        label="What did you decide?",
        choices=Disposition.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you decided."},
    )
    text = forms.CharField(
        label="Your response",
        help_text="Say what you will do, or why not, in plain words. " + MARKDOWN_HINT.split(". ")[0] + ".",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Enter your response."},
    )
    action_changed = forms.ModelChoiceField(
        label="Action it changed",
        help_text="Required when you accept the comment.",
        queryset=Action.objects.none(),
        required=False,
    )

    # The updated_at of the response the writer saw ("" when there was none): stale writes are refused.
    based_on = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["action_changed"]
        field.queryset = Action.objects.filter(plan=plan).order_by("key_step__number", "title")
        field.empty_label = "No action"

    def clean_based_on(self):
        from django.utils.dateparse import parse_datetime

        value = self.cleaned_data.get("based_on") or ""
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise forms.ValidationError("The form was damaged: reload the page and try again.")
        return parsed


class FlagForm(forms.Form):
    reason = forms.CharField(
        label="Why should a moderator look at this comment?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why this comment should be looked at."},
    )


MODERATION_DECISIONS = [
    ("hide", "Hide the comment"),
    ("restore", "Publish (restore) the comment"),
    ("dismiss", "Dismiss the flags"),
]


class ModerationForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision", choices=MODERATION_DECISIONS, widget=forms.RadioSelect,
        error_messages={"required": "Choose a decision."},
    )  # fmt: skip
    reason = forms.CharField(
        label="Why", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why: every decision is recorded with its reason."},
    )  # fmt: skip


class SuspendForm(forms.Form):
    suspend = forms.ChoiceField(
        label="Commenting", choices=[("suspend", "Suspend from commenting"), ("lift", "Lift the suspension")],
        widget=forms.RadioSelect, error_messages={"required": "Choose suspend or lift."},
    )  # fmt: skip
    reason = forms.CharField(
        label="Why", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why: every decision is recorded with its reason."},
    )  # fmt: skip


KIND_CHOICES = [
    ("", "As my general choice"),
    (EmailMode.IMMEDIATE, "Straight away"),
    (EmailMode.DIGEST, "In the daily digest"),
    (EmailMode.OFF, "Off: no emails"),
]


class PreferenceForm(forms.Form):
    """The general email choice, then one choice per kind of notification (fields ``kind_<kind>``)."""

    email_mode = forms.ChoiceField(
        label="Email me about my notifications", choices=EmailMode.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            self.fields[f"kind_{kind}"] = forms.ChoiceField(
                label=label, choices=KIND_CHOICES, widget=forms.RadioSelect, required=False
            )

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"kind_{kind}"] for kind in NotificationKind.values]

    def kinds(self) -> dict[str, str]:
        """The per-kind choices posted (a form without them, as older clients post, changes none)."""
        return {
            kind: self.cleaned_data[f"kind_{kind}"] for kind in NotificationKind.values if f"kind_{kind}" in self.data
        }
