from __future__ import annotations

import datetime as dt

from django import forms

from commissioning.models import Contract
from commissioning.statements.models import Stance
from outcomes.periods import add_months, financial_quarter_label

TEXT = forms.Textarea(attrs={"rows": 3})


def quarter_choices(contract: Contract, today: dt.date, taken: set[dt.date]) -> list[tuple[str, str]]:
    """The financial quarters of the contract that have started and have no statement yet, newest first."""
    start = contract.start_date
    current = dt.date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    choices = []
    while current <= min(today, contract.end_date):
        end = add_months(current, 3) - dt.timedelta(days=1)
        if current not in taken:
            label = f"{financial_quarter_label(current)}: {current:%B} to {end:%B %Y}"
            if end >= today:
                label += " (not finished yet)"
            choices.append((current.isoformat(), label))
        current = add_months(current, 3)
    return list(reversed(choices))


class DraftForm(forms.Form):
    period_start = forms.TypedChoiceField(
        label="Which quarter?",
        coerce=dt.date.fromisoformat,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the quarter to draft",
            "invalid_choice": "Choose one of the quarters listed",
        },
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period_start"].choices = choices


class Versioned(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StanceForm(Versioned):
    stance = forms.ChoiceField(
        label="Your stance on this line",
        choices=[(Stance.AGREE, "Agree"), (Stance.DISPUTE, "Dispute")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose agree or dispute"},
    )
    reason = forms.CharField(label="Reason (needed to dispute)", max_length=2000, required=False, widget=TEXT)

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("stance") == Stance.DISPUTE and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why you dispute this line")
        return data


class MessageForm(forms.Form):
    text = forms.CharField(
        label="Your message", max_length=2000, widget=TEXT, error_messages={"required": "Write your message"}
    )


class AgreeAllForm(Versioned):
    pass


class RefreshForm(Versioned):
    pass
