"""Forms for consultations, their questions, answering and "did it make a difference".

Forms parse and check the shape of input only; the rules live in .services. An answer form's
fields are made from the consultation's questions (``q<id>``), so the service's errors, keyed
the same way, land beside the question they are about.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from actionplan.models import (
    Action,
    Consultation,
    Participation,
    Question,
    QuestionKind,
    RespondentGroup,
)
from kernel.forms import NHSDateField

MARKDOWN_HINT = "You can use Markdown: headings, lists, links and emphasis."
KIND_HINTS = {
    QuestionKind.SINGLE: "People choose one of the options you list.",
    QuestionKind.MULTIPLE: "People tick as many of the options as apply.",
    QuestionKind.SCALE: "People choose a number from 1 to 5; say what 1 and 5 mean.",
    QuestionKind.TEXT: "People write their answer. It is published only once a moderator has read it.",
}


class ActionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.title


class ConsultationForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="A short name, for example “Crisis cafes: what would help you?”")
    introduction = forms.CharField(
        help_text="What you are asking about, why, and what you will do with the answers. " + MARKDOWN_HINT,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    action = ActionChoice(
        queryset=Action.objects.none(),
        required=False,
        label="About one action (optional)",
        empty_label="The whole plan",
    )
    opens_on = NHSDateField(label="Opens on", help_text="For example, 14 1 2027")
    closes_on = NHSDateField(label="Closes on", help_text="Answers are taken until the end of this day.")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actions: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].queryset = actions

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("opens_on") and data.get("closes_on") and data["closes_on"] < data["opens_on"]:
            self.add_error("closes_on", "The closing date must be on or after the opening date.")
        return data

    @staticmethod
    def initial_for(consultation: Consultation) -> dict[str, Any]:
        return {
            "title": consultation.title,
            "introduction": consultation.introduction,
            "action": consultation.action_id,
            "opens_on": consultation.opens_on,
            "closes_on": consultation.closes_on,
            "version": consultation.version,
        }

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class QuestionForm(forms.Form):
    text = forms.CharField(max_length=300, label="Question")
    hint = forms.CharField(
        max_length=300, required=False, label="Hint (optional)", help_text="Shown under the question."
    )
    kind = forms.ChoiceField(
        choices=QuestionKind.choices, widget=forms.RadioSelect, label="How people answer", initial=QuestionKind.SINGLE
    )
    options = forms.CharField(
        required=False,
        label="Options",
        help_text="For a list: each option on its own line (2 to 12).",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    scale_low = forms.CharField(
        max_length=60, required=False, label="What 1 means (scale only)", help_text="For example, “Not at all”"
    )
    scale_high = forms.CharField(
        max_length=60, required=False, label="What 5 means (scale only)", help_text="For example, “A great deal”"
    )
    required = forms.ChoiceField(
        choices=[("yes", "Yes, an answer is needed"), ("no", "No, people may skip it")],
        widget=forms.RadioSelect,
        label="Must people answer it?",
        initial="yes",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lines = [line for line in (data.get("options") or "").splitlines() if line.strip()]
        if data.get("kind") in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) and len(lines) < 2:
            self.add_error("options", "Give at least two options, one on each line.")
        return data

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        return {
            "text": question.text,
            "hint": question.hint,
            "kind": question.kind,
            "options": "\n".join(question.options),
            "scale_low": question.scale_low,
            "scale_high": question.scale_high,
            "required": "yes" if question.required else "no",
        }

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["options"] = [line for line in data["options"].splitlines() if line.strip()]
        data["required"] = data["required"] == "yes"
        return data


class AnswerForm(forms.Form):
    """One field per question (``q<id>``) and who the person answers as."""

    group = forms.ChoiceField(
        choices=[*RespondentGroup.choices, ("", "I would rather not say")],
        widget=forms.RadioSelect,
        required=False,
        label="Are you answering as… (optional)",
        help_text="We use this only to count answers by group. Groups of fewer than 5 people are never shown.",
    )

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            label = q.text if q.required else f"{q.text} (optional)"
            hint = q.hint or None
            if q.kind == QuestionKind.TEXT:
                hint = (
                    q.hint + " " if q.hint else ""
                ) + "A moderator reads it before it is published, without your name."
                field: forms.Field = forms.CharField(
                    required=False, max_length=3000, widget=forms.Textarea(attrs={"rows": 5})
                )
            elif q.kind == QuestionKind.SCALE:
                low = f"1 is {q.scale_low.lower()}" if q.scale_low else ""
                high = f"5 is {q.scale_high.lower()}" if q.scale_high else ""
                scale_hint = ", ".join(p for p in (low, high) if p)
                hint = (
                    " ".join(
                        p for p in (q.hint, (scale_hint[:1].upper() + scale_hint[1:] + ".") if scale_hint else "") if p
                    )
                    or None
                )
                field = forms.ChoiceField(
                    required=False, choices=[(str(s), str(s)) for s in range(1, 6)], widget=forms.RadioSelect
                )
            elif q.kind == QuestionKind.MULTIPLE:
                hint = hint or "Tick all that apply."
                field = forms.MultipleChoiceField(
                    required=False,
                    choices=[(str(i), o) for i, o in enumerate(q.options)],
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                field = forms.ChoiceField(
                    required=False, choices=[(str(i), o) for i, o in enumerate(q.options)], widget=forms.RadioSelect
                )
            field.label = label
            field.help_text = hint or ""
            self.fields[f"q{q.pk}"] = field

    @staticmethod
    def initial_for(participation: Participation | None) -> dict[str, Any]:
        if participation is None:
            return {}
        initial: dict[str, Any] = {"group": participation.group}
        for a in participation.answers.all():
            if a.scale is not None:
                initial[f"q{a.question_id}"] = str(a.scale)
            elif a.text:
                initial[f"q{a.question_id}"] = a.text
            else:
                initial[f"q{a.question_id}"] = [str(i) for i in a.choices]
        return initial

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q{q.pk}"] for q in self.questions]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"group": data.get("group") or "", "answers": {q.pk: data.get(f"q{q.pk}") for q in self.questions}}


class ModerateAnswerForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("publish", "Publish it"), ("hide", "Hide it")], widget=forms.RadioSelect, label="Decision"
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason",
        help_text="Needed to hide an answer. Kept with the decision.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ChangeCheckForm(forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int,
        choices=[
            ("1", "1: No difference at all"),
            ("2", "2: A little difference"),
            ("3", "3: Some difference"),
            ("4", "4: A good difference"),
            ("5", "5: A great difference"),
        ],
        widget=forms.RadioSelect,
        label="How much did it change your experience?",
        error_messages={"required": "Choose a number from 1 to 5."},
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        label="Anything you want to tell us (optional)",
        help_text="Read by the people who answer for the plan. It is not published.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
