from __future__ import annotations

from django import forms

TEXT = forms.Textarea(attrs={"rows": 4})


class ReplyForm(forms.Form):
    text = forms.CharField(label="Your reply", max_length=2000, widget=TEXT)


class CorrectionForm(forms.Form):
    numerator = forms.DecimalField(label="Numerator", min_value=0, max_digits=17, decimal_places=4)
    denominator = forms.IntegerField(label="Denominator", min_value=1, required=False)
    note = forms.CharField(label="Note on the value (optional)", max_length=1000, required=False)
    text = forms.CharField(
        label="What you changed, for the commissioner (optional)", max_length=2000, required=False, widget=TEXT
    )

    def __init__(self, *args, needs_denominator: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if needs_denominator:
            self.fields["denominator"].required = True
        else:
            del self.fields["denominator"]


class RequeryForm(forms.Form):
    text = forms.CharField(label="What should the provider check now?", max_length=2000, widget=TEXT)


class ResolveForm(forms.Form):
    text = forms.CharField(label="Closing note (optional)", max_length=2000, required=False, widget=TEXT)
    approve = forms.BooleanField(label="Approve the value as it stands", required=False)
