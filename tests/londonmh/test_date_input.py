"""The NHS.UK date input (kernel.forms.NHSDateField): day, month and year boxes for every date."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django import forms

from kernel.forms import NHSDateField
from londonmh.jinja2 import error_summary, form_field


class DueForm(forms.Form):
    due = NHSDateField(label="Due on", required=False)
    starts = NHSDateField(label="Period starts")


def bound(**data: str) -> DueForm:
    return DueForm({"starts_day": "1", "starts_month": "4", "starts_year": "2026", **data})


def test_three_boxes_make_a_date():
    form = bound(due_day="14", due_month="05", due_year="2026")
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"due": dt.date(2026, 5, 14), "starts": dt.date(2026, 4, 1)}


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "part"),
    [
        ("31", "2", "2026", "Due on must be a real date", "day"),
        ("29", "2", "2025", "Due on must be a real date", "day"),
        ("1", "13", "2026", "Due on must be a real date", "month"),
        ("x", "2", "2026", "Due on must be a real date", "day"),
        ("14", "", "2026", "Due on must include a month", "month"),
        ("", "", "2026", "Due on must include a day and a month", "day"),
        ("14", "5", "26", "Year must include 4 numbers, for example 2026", "year"),
    ],
)
def test_a_wrong_date_says_what_is_wrong_and_links_to_the_box(day, month, year, message, part):
    form = bound(due_day=day, due_month=month, due_year=year)
    assert not form.is_valid()
    assert form.errors["due"] == [message]
    summary = str(error_summary(form))
    assert f'href="#id_due_{part}"' in summary
    # What was typed stays in the boxes.
    html = str(form_field(form["due"]))
    for name, value in (("day", day), ("month", month), ("year", year)):
        assert f'name="due_{name}"' in html
        if value:
            assert f'value="{value}"' in html


def test_a_required_date_left_empty_asks_for_it_and_marks_every_box():
    form = DueForm({})
    assert form.errors["starts"] == ["Enter period starts"]
    html = str(form_field(form["starts"]))
    assert html.count("nhsuk-input--error") == 3
    assert 'href="#id_starts_day"' in str(error_summary(form))


def test_it_renders_as_a_fieldset_of_labelled_day_month_and_year_boxes():
    form = DueForm(initial={"due": dt.date(2026, 3, 31)})
    html = str(form_field(form["due"]))
    assert "nhsuk-date-input" in html and "<legend" in html and "Due on" in html
    for part, value in (("day", "31"), ("month", "3"), ("year", "2026")):
        assert f'id="id_due_{part}"' in html and f'name="due_{part}"' in html
        assert re.search(rf'<label\s+class="nhsuk-label nhsuk-date-input__label"\s+for="id_due_{part}"', html)
        assert f'value="{value}"' in html
    assert 'type="date"' not in html and 'inputmode="numeric"' in html


def test_a_script_may_still_post_one_iso_date():
    form = DueForm({"starts": "2026-04-01", "due": "2026-05-14"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["due"] == dt.date(2026, 5, 14)
