"""The Jinja2 environment for portal pages.

Templates in templates/ extend the NHS.UK page template and call NHS.UK component
macros from nhsuk-frontend-jinja. `form_field` turns a Django bound field into the
right NHS.UK component, so forms get labels, hints, error messages and ids
consistently without hand-written component HTML.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.messages import get_messages
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, pass_context, select_autoescape
from markupsafe import Markup

from kernel.forms import DATE_PARTS, NHSDateWidget
from kernel.numbers import format_number

_env: Environment | None = None


def _macro(name: str, component: str) -> Any:
    if _env is None:
        raise RuntimeError("the Jinja2 environment is not set up yet")
    module = _env.get_template(f"nhsuk/components/{component}/macro.jinja").module
    return getattr(module, name)


def _errors(bound: forms.BoundField) -> dict[str, str] | None:
    if bound.errors:
        return {"text": " ".join(str(e) for e in bound.errors)}
    return None


def _choice_items(bound: forms.BoundField, multiple: bool) -> list[dict[str, Any]]:
    value = bound.value()
    selected = {str(v) for v in value} if multiple and value else {str(value) if value is not None else ""}
    items = []
    for choice_value, label in bound.field.choices:
        items.append({"value": choice_value, "text": str(label), "checked": str(choice_value) in selected})
    return items


def _date_input_params(
    bound: forms.BoundField, field_id: str, params: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """NHS.UK date input: a fieldset of day, month and year boxes; the box in error marked."""
    value = bound.value()
    parts = bound.field.widget.decompress(value) if not isinstance(value, list | tuple) else list(value)
    error_part = getattr(bound.field, "error_part", "day") if bound.errors else None
    # The whole date is wrong (missing, or not a real date): every box is marked.
    whole = bound.errors and any(e.code in ("required", "invalid") for e in bound.errors.as_data())
    items = []
    for part, text in zip(DATE_PARTS, parts, strict=True):
        marked = bound.errors and (whole or part == error_part)
        items.append(
            {
                "id": f"{field_id}_{part}",
                "name": f"{bound.html_name}_{part}",
                "label": part.capitalize(),
                "value": text or "",
                "width": 4 if part == "year" else 2,
                "classes": "nhsuk-input--error" if marked else "",
            }
        )
    return {
        "id": field_id,
        "fieldset": {"legend": {"text": str(bound.label), "size": overrides.pop("legend_size", "s")}},
        "hint": params["hint"],
        "errorMessage": params["errorMessage"],
        "items": items,
        **overrides,
    }


def form_field(bound: forms.BoundField, **overrides: Any) -> Markup:
    """Render a bound field as the NHS.UK component that fits its widget.

    ``filterable=True`` (or the plural noun its items are, e.g. ``filterable="actions"``) on a
    long list of checkboxes lists the chosen ones first and marks the list for
    static/js/choice-filter.mjs, which adds a filter box and a summary of what is chosen;
    without JavaScript it stays a plain list of checkboxes.
    """
    widget = bound.field.widget
    field_id = bound.auto_id or f"id_{bound.html_name}"
    hint = overrides.pop("hint", bound.help_text or None)
    label_classes = overrides.pop("label_classes", None)
    filterable = overrides.pop("filterable", False)
    attributes: dict[str, Any] = {}
    if bound.field.required and not isinstance(widget, forms.CheckboxInput):
        attributes["required"] = True
    params: dict[str, Any] = {
        "id": field_id,
        "name": bound.html_name,
        "label": {"text": str(bound.label)} | ({"classes": label_classes} if label_classes else {}),
        "hint": {"text": str(hint)} if hint else None,
        "errorMessage": _errors(bound),
        "attributes": attributes,
    }
    if isinstance(widget, NHSDateWidget):
        macro = _macro("dateInput", "date-input")
        return Markup(macro(_date_input_params(bound, field_id, params, overrides)))  # noqa: S704 - autoescaped macro
    if isinstance(widget, forms.Textarea):
        value = bound.value()
        params["value"] = "" if value is None else str(value)
        params["rows"] = widget.attrs.get("rows", 5)
        macro = _macro("textarea", "textarea")
    elif isinstance(widget, forms.CheckboxSelectMultiple):
        params = {
            "idPrefix": field_id,
            "name": bound.html_name,
            "fieldset": {"legend": {"text": str(bound.label), "size": "s"}},
            "hint": params["hint"],
            "errorMessage": params["errorMessage"],
            "items": _choice_items(bound, multiple=True),
        }
        if filterable:
            # Chosen first (a stable sort keeps each group in its own order), so they are
            # seen at once with or without JavaScript.
            params["items"].sort(key=lambda item: not item["checked"])
            params["formGroup"] = {
                "classes": "lmh-choice-filter",
                "attributes": {
                    "data-module": "lmh-choice-filter",
                    "data-noun": filterable if isinstance(filterable, str) else str(bound.label).lower(),
                },
            }
        macro = _macro("checkboxes", "checkboxes")
    elif isinstance(widget, forms.RadioSelect):
        params = {
            "idPrefix": field_id,
            "name": bound.html_name,
            "fieldset": {"legend": {"text": str(bound.label), "size": "s"}},
            "hint": params["hint"],
            "errorMessage": params["errorMessage"],
            "items": _choice_items(bound, multiple=False),
        }
        macro = _macro("radios", "radios")
    elif isinstance(widget, forms.CheckboxInput):
        params = {
            "idPrefix": field_id,
            "name": bound.html_name,
            "errorMessage": params["errorMessage"],
            "items": [
                {
                    "value": "on",
                    "text": str(bound.label),
                    "id": field_id,
                    "checked": bool(bound.value()),
                    "hint": params["hint"],
                }
            ],
        }
        macro = _macro("checkboxes", "checkboxes")
    elif isinstance(widget, forms.Select):
        params["items"] = [
            {"value": i["value"], "text": i["text"], "selected": i["checked"]}
            for i in _choice_items(bound, multiple=False)
        ]
        macro = _macro("select", "select")
    elif isinstance(widget, forms.FileInput):
        # The browser's own file input, not NHS.UK's enhanced drop zone: once its script runs,
        # the drop-zone button's accessible name does not contain its visible text (axe
        # label-content-name-mismatch, WCAG 2.5.3), while the native control passes.
        params["type"] = "file"
        params["classes"] = "nhsuk-u-width-full lmh-file-input"
        if "accept" in widget.attrs:
            params.setdefault("attributes", {})["accept"] = widget.attrs["accept"]
        macro = _macro("input", "input")
    else:
        value = bound.value()
        params["value"] = "" if value is None or isinstance(widget, forms.PasswordInput) else str(value)
        params["type"] = getattr(widget, "input_type", "text")
        autocomplete = widget.attrs.get("autocomplete")
        if autocomplete:
            params["autocomplete"] = autocomplete
        if "inputmode" in widget.attrs:
            params["inputmode"] = widget.attrs["inputmode"]
        if "class" in widget.attrs:
            params["classes"] = widget.attrs["class"]
        macro = _macro("input", "input")
    params.update(overrides)
    return Markup(macro(params))  # noqa: S704 - macro output comes from an autoescaping template


def error_summary(*forms_: forms.BaseForm | None) -> Markup:
    """An NHS.UK error summary linking to each field in error, or nothing when valid."""
    items: list[dict[str, str]] = []
    for form in forms_:
        if form is None or not form.is_bound or not form.errors:
            continue
        for error in form.non_field_errors():
            items.append({"text": str(error)})
        for name, field_errors in form.errors.items():
            if name == forms.forms.NON_FIELD_ERRORS:
                continue
            bound = form[name]
            widget = bound.field.widget
            anchor = bound.auto_id
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                anchor = f"{bound.auto_id}"
            elif isinstance(widget, NHSDateWidget):
                # The box to correct: the first one, or the part the error is about.
                anchor = f"{bound.auto_id}_{getattr(bound.field, 'error_part', 'day')}"
            for error in field_errors:
                items.append({"text": str(error), "href": f"#{anchor}"})
    if not items:
        return Markup("")
    macro = _macro("errorSummary", "error-summary")
    return Markup(macro({"titleText": "There is a problem", "errorList": items}))  # noqa: S704 - autoescaped macro


# Rendered NHS.UK components by (macro, parameters), a process each (see `memo`).
_MEMO: dict[tuple[str, str], Markup] = {}
_MEMO_SIZE = 256


def memo(macro: Any, params: dict[str, Any]) -> Markup:
    """An NHS.UK component's HTML for these parameters, rendered once a process and kept.

    Imported component macros see only their parameters (no page context), so the same
    parameters give the same HTML: base.html renders its footer and a visitor's header (about
    a third of a page's rendering) through this. Only for parameters with no person's name, CSRF
    token or CSP nonce in them: a signed-in person's header is rendered each time.
    """
    key = (macro.name, json.dumps(params, sort_keys=True, default=str))
    html = _MEMO.get(key)
    if html is None:
        html = Markup(macro(params))  # noqa: S704 - macro output comes from an autoescaping template
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = html
    return html


@pass_context
def csrf_field(context: Any) -> Markup:
    request = context.get("request")
    token = get_token(request) if request is not None else ""
    return Markup('<input type="hidden" name="csrfmiddlewaretoken" value="{}">').format(token)


@pass_context
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed (for pagination and filters)."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True) if params else "?"


def format_date(value: Any, fmt: str = "j F Y") -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return date_format(value, fmt)


def outcomes_nav(user: Any) -> dict[str, bool]:
    """Which data links the header shows (one small query per request; imported late: apps load first)."""
    from outcomes.selectors import nav_flags

    return nav_flags(user)


def _markdown(text: str | None) -> Markup:
    """Safe HTML from user-written markdown (imported late: apps load first)."""
    from kernel.markdown import render_markdown

    return render_markdown(text)


def voice_unread(user: Any) -> int:
    """The header's unread-notification count (one COUNT for signed-in people, none for visitors)."""
    from actionplan.voice.selectors import unread_count

    return unread_count(user)


def voice_plan_summary(plan: Any) -> Any:
    """Comments, answers and comments waiting too long on a plan (one aggregate query)."""
    from actionplan.voice.selectors import summary

    return summary(plan)


def environment(**options: Any) -> Environment:
    global _env
    options["undefined"] = ChainableUndefined
    # Plain-text emails (.txt) are not HTML-escaped; everything else is.
    options["autoescape"] = select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True)
    options["loader"] = ChoiceLoader([options["loader"], PackageLoader("nhsuk_frontend_jinja")])
    # autoescape is set through options above; bandit cannot see it.
    env = Environment(**options)  # noqa: S701  # nosec B701
    env.globals.update(
        {
            "static": static,
            "url": reverse,
            "form_field": form_field,
            "error_summary": error_summary,
            "csrf_field": csrf_field,
            "query_with": query_with,
            "memo": memo,
            "get_messages": get_messages,
            "outcomes_nav": outcomes_nav,
            "voice_unread": voice_unread,
            "voice_plan_summary": voice_plan_summary,
            "settings": {"DEBUG": settings.DEBUG, "EMAIL_VERIFY_DAYS": settings.EMAIL_VERIFY_DAYS},
        }
    )
    env.filters["date"] = format_date
    env.filters["intcomma"] = lambda v: format_number(v) if isinstance(v, int | Decimal) else v
    # Any number as people write it (1,250 or 2.5; never 1E+3): kernel.numbers.
    env.filters["number"] = format_number
    env.filters["markdown"] = _markdown
    _env = env
    return env
