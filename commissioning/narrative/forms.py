"""Forms for quarterly stories: the index's filter, the editor, and "draft now". Shape checks only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from commissioning.narrative.models import Story
from outcomes.periods import financial_quarter_label, previous_period
from stakeholders.models import Area, AreaLevel

MARKDOWN_HINT = "You can use Markdown: headings (##), lists (-), links and **bold**."


class AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


def story_area_choices() -> QuerySet[Area]:
    return Area.objects.filter(level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH]).order_by("-level", "name")


class StoryFilterForm(forms.Form):
    area = AreaChoice(
        queryset=Area.objects.none(), required=False, label="Area", empty_label="London and every borough"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # London first ("london" sorts after "borough", so descending), then boroughs by name.
        self.fields["area"].queryset = story_area_choices()
        self.fields["area"].to_field_name = "code"


class StoryForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    body = forms.CharField(
        label="The story", help_text=MARKDOWN_HINT, widget=forms.Textarea(attrs={"rows": 18}), max_length=20_000
    )
    easy_read = forms.CharField(
        label="Easy Read version",
        help_text="Short sentences, one idea a line. Each line shows as its own line.",
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=5_000,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def initial_for(story: Story) -> dict[str, Any]:
        return {"title": story.title, "body": story.body, "easy_read": story.easy_read, "version": story.version}


def quarter_choices(last: dt.date, count: int = 4) -> list[tuple[str, str]]:
    quarters = [last]
    while len(quarters) < count:
        quarters.append(previous_period("quarter", quarters[-1]))
    return [(q.isoformat(), financial_quarter_label(q)) for q in quarters]


class DraftForm(forms.Form):
    area = AreaChoice(queryset=Area.objects.none(), label="Area", empty_label=None)
    quarter = forms.ChoiceField(label="Financial quarter", choices=())

    def __init__(self, *args: Any, areas: QuerySet[Area], last_quarter: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas.order_by("-level", "name")
        self.fields["area"].to_field_name = "code"
        self.fields["quarter"].choices = quarter_choices(last_quarter)

    def clean_quarter(self) -> dt.date:
        return dt.date.fromisoformat(self.cleaned_data["quarter"])
