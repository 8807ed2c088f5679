"""Every URL pattern of the portal, and the URL kwargs the shared world fills in for each."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from actionplan.voice import services as voice_services
from stakeholders import services as stakeholder_services

# Not in the matrix, and why.
EXCLUDED_PREFIXES = {
    "admin/": "Django's own admin: staff-only by Django, not by the portal's permissions modules",
    "assets/": "static NHS.UK frontend assets, public files",
    "static/": "static files, public",
    "api/schema/": "the OpenAPI document, public by design (checked by tests/api/test_schema.py)",
    "api/docs/": "Swagger UI, public by design",
}


@dataclass(frozen=True)
class Route:
    key: str  # the URL name; "<name>.format" for DRF's format-suffix twin
    route: str  # the pattern as written, for messages
    params: tuple[str, ...]
    callback: object


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry, text)
        elif isinstance(entry, URLPattern):
            yield text, entry


def routes() -> tuple[list[Route], list[str]]:
    """(routes in the matrix, routes excluded with a reason)."""
    found, excluded = [], []
    for text, entry in _walk(get_resolver()):
        plain = text.lstrip("^")
        if any(plain.startswith(p) for p in EXCLUDED_PREFIXES):
            excluded.append(plain)
            continue
        name = entry.name or getattr(entry.callback, "__name__", plain)
        params = tuple(entry.pattern.regex.groupindex)
        key = f"{name}.format" if "format" in params else name
        found.append(Route(key=key, route=plain, params=params, callback=entry.callback))
    return found, excluded


# Issue 21: an indicator's inequalities page and API.
INEQUALITIES = {"dashboard_inequalities", "indicator-inequalities"}


def kwargs_for(name: str, params: tuple[str, ...], world) -> dict:
    """URL kwargs from the world, by URL name first and parameter name second."""
    o = world.objects
    plan, action, milestone, comment = o["plans"]["public"]
    base = name.removesuffix(".format")
    values: dict = {"format": "json"}
    if "-" in base or base == "me":
        values.update(o["api_kwargs"])
        basename = max((b for b in o["api_pk"] if base.startswith(b + "-")), key=len, default=None)
        if basename:
            values["pk"] = values["slug"] = values["code"] = values["number"] = o["api_pk"][basename]
        values["submission_id"] = o["submission"].pk
    elif base.startswith("organisation") or base in {"membership_edit", "invitation_revoke"}:
        values["slug"] = o["northbank"].slug
        values["pk"] = o["invitation"].pk if base == "invitation_revoke" else o["membership"].pk
    elif base.startswith(("consultation", "change_check")):  # issue 23: consultations, closing the loop
        # Writing routes name the draft (only it may change); the others the open consultation.
        writing = base in {"consultation_edit", "consultation_open"} or base.startswith("consultation_question")
        consultation = o["consultation_draft" if writing else "consultation_open"]
        values.update(slug=plan.slug, consultation_id=consultation.pk, question_id=o["consultation_draft_question"].pk)
        values.update(answer_id=o["consultation_answer"].pk, check_id=o["change_check"].pk)
    elif base.startswith(("plan", "action", "milestone_", "voice_")) and "slug" in params:
        values.update(slug=plan.slug, pk=action.pk, action_id=action.pk, milestone_pk=milestone.pk)
        values["indicator"] = o["indicator"].pk
        if base.startswith("voice_comment"):
            values["pk"] = comment.pk
    elif base.startswith(("partnership", "meeting", "decision")) and "slug" in params:
        values.update(slug=o["partnership"].slug, meeting_id=o["meeting"].pk, decision_id=o["decision"].pk)
    elif base.startswith("schedule_"):
        values["pk"] = o["schedule"].pk
    elif base.startswith("value_query_"):
        values["pk"] = o["value_query"].pk
    elif base.startswith("duplicate_"):  # duplicated work: a candidate pair, a dismissal, a merge
        a, b = o["duplicate_pair"]
        values.update(a=a.pk, b=b.pk)
        values["pk"] = o["dismissal"].pk if base == "duplicate_undismiss" else o["merge"].pk
    elif base.startswith("statement_"):  # payment statements
        values["pk"] = o["statement"].pk
    elif base.startswith("story_"):  # quarterly stories
        values["pk"] = o["story"].pk
    elif base.startswith(("contract", "measure")):
        values.update(pk=o["private_contract"].pk, measure_id=o["measure"].pk)
    elif base == "opendata_file":
        values["name"] = "datapackage.json"  # seed_demo publishes the package
    elif base.startswith("evidence"):
        values["slug"] = o["evidence"].slug
    elif base.startswith("keystep") or base.startswith("key-step"):
        values["number"] = 1
    elif (
        base
        in {
            "indicator_detail",
            "indicator_edit",
            "dashboard_indicator",
            "indicator-detail",
            "dashboard_indicator_compare",
            "dashboard_indicator_trend",
        }
        | INEQUALITIES
    ):
        values["code"] = o["indicator"].code
    elif base in {"area_detail", "dashboard_area", "area-detail", "borough-detail", "dashboard_area_profile"}:
        values["code"] = o["area"].code
    elif base.startswith("submission"):
        values.update(pk=o["submission"].pk, submission_id=o["submission"].pk)
    elif base == "invitation_accept":
        values["token"] = stakeholder_services.invitation_signed_token(o["invitation"])
    elif base == "email_verify":
        values["token"] = stakeholder_services.email_verify_token(world.users["service_user"])
    elif base == "api_token_revoke":
        values["key"] = o["token"].token_key
    elif base == "voice_unsubscribe":
        values["token"] = voice_services.unsubscribe_token(world.users["provider_own"])
    elif base == "password_reset_confirm":
        values.update(uidb64="MQ", token="set-password")
    elif base in {"voice_moderate_comment", "voice_notification_read"}:
        values["pk"] = comment.pk if base == "voice_moderate_comment" else o["notification"].pk
    elif base == "voice_suspend_user":
        values["pk"] = world.users["service_user"].pk
    missing = [p for p in params if p not in values]
    assert not missing, f"{name}: no value for {missing}"
    return {p: values[p] for p in params}
