"""Form helpers every app's views share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


def posted(request: Any) -> Any:
    """A form's data: the POST (even an empty one, so its errors show), None for a GET."""
    return request.POST if request.method == "POST" else None


def add_service_errors(form: Any, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: by field where it names one of the
    form's fields, else to the form as a whole (shown at the top of the error summary)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Dates ------------------------------------------------------------------------------------
# Every date a person types is an NHS.UK date input: day, month and year boxes, the same in
# every browser and locale (a browser's date picker is not, and free text invites 05/06/2026).


class NHSDateWidget(forms.MultiWidget):
    """Three text boxes named <name>_day, <name>_month and <name>_year (rendered by form_field)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        widgets = {
            "day": forms.TextInput(attrs={"inputmode": "numeric"}),
            "month": forms.TextInput(attrs={"inputmode": "numeric"}),
            "year": forms.TextInput(attrs={"inputmode": "numeric"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[str]:
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        if isinstance(value, str) and value:
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return ["", "", ""]
            return [str(day.day), str(day.month), str(day.year)]
        return ["", "", ""]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        if all(f"{name}_{part}" not in data for part in DATE_PARTS) and data.get(name):
            # One ISO date under the plain name (a script, or a form posted before the change).
            return self.decompress(str(data.get(name)).strip()) if _iso(data.get(name)) else ["", "", ""]
        return [str(data.get(f"{name}_{part}", "")).strip() for part in DATE_PARTS]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and all(f"{name}_{part}" not in data for part in DATE_PARTS)


def _iso(text: Any) -> bool:
    try:
        dt.date.fromisoformat(str(text).strip())
    except ValueError:
        return False
    return True


DATE_PARTS = ("day", "month", "year")


class NHSDateField(forms.Field):
    """A date typed as day, month and year, with the NHS.UK service manual's error messages.

    The value kept on error is what was typed (the three boxes), so nothing is lost; an error
    names the missing or wrong part ("Due on must include a month", "must be a real date").
    """

    widget = NHSDateWidget

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_part: str = "day"  # the box an error is about: the error summary links to it

    def _name(self) -> str:
        return str(self.label or "The date")

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        if not value or not any(value):
            return None
        day, month, year = [*list(value), "", "", ""][:3]
        missing = [part for part, text in zip(DATE_PARTS, (day, month, year), strict=True) if not text]
        if missing:
            self.error_part = missing[0]
            raise ValidationError(f"{self._name()} must include a {' and a '.join(missing)}", code="incomplete")
        numbers: list[int] = []
        for part, text in zip(DATE_PARTS, (day, month, year), strict=True):
            if not text.isdigit():
                self.error_part = part
                raise ValidationError(f"{self._name()} must be a real date", code="invalid")
            numbers.append(int(text))
        if len(year) != 4:
            self.error_part = "year"
            raise ValidationError("Year must include 4 numbers, for example 2026", code="year")
        try:
            return dt.date(numbers[2], numbers[1], numbers[0])
        except ValueError:
            self.error_part = "month" if not 1 <= numbers[1] <= 12 else "day"
            raise ValidationError(f"{self._name()} must be a real date", code="invalid") from None

    def validate(self, value: dt.date | None) -> None:
        if value is None and self.required:
            self.error_part = "day"
            raise ValidationError(f"Enter {self._name().lower()}", code="required")

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(initial)
        except ValidationError:
            return True
