"""The API's answers match its OpenAPI schema where they did not (issue 25, part 3).

The schema is generated as `manage.py spectacular` does; each response below is validated
against the schema its operation documents, nullable fields and `format: uri` included.
Cases: an action with no lead (`lead_name` null), a comment whose official response changed
no action (`response.action_changed` null), and evidence with no link (`link` null, not "").
"""

from __future__ import annotations

from urllib.parse import urlparse

import jsonschema
import pytest
import yaml
from django.core.management import call_command

from actionplan import services as plan_services
from actionplan.voice import services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def openapi(tmp_path_factory, django_db_blocker) -> dict:
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--file", str(out))
    return yaml.safe_load(out.read_text())


def _json_schema(node):
    """OpenAPI 3.0 to JSON Schema: `nullable` becomes a null alternative; refs point at definitions."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme and (parsed.netloc or parsed.path))


def assert_conforms(openapi: dict, path: str, response) -> None:
    assert response.status_code == 200, response.content
    operation = openapi["paths"][path]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    document = {**_json_schema(schema), "definitions": _json_schema(openapi["components"]["schemas"])}
    jsonschema.validate(response.json(), document, format_checker=FORMATS)


def test_an_action_without_a_lead_matches_its_schema(openapi, client_for, public_plan, make_action, commissioner):
    action = make_action(public_plan, title="Nobody leads this yet")
    response = client_for(commissioner).get(f"/api/v1/actions/{action.pk}/")
    assert response.json()["lead_name"] is None
    assert_conforms(openapi, "/api/v1/actions/{id}/", response)


def test_a_comment_with_a_response_that_changed_no_action_matches_its_schema(
    openapi, client_for, public_plan, service_user, commissioner
):
    comment = services.comment_create(actor=service_user, plan=public_plan, body="More evening support, please.")
    services.response_save(actor=commissioner, comment=comment, disposition="under_review", text="Thank you.")
    response = client_for(service_user).get(f"/api/v1/comments/{comment.pk}/")
    assert response.json()["response"]["action_changed"] is None
    assert_conforms(openapi, "/api/v1/comments/{id}/", response)


def test_evidence_without_a_link_matches_its_schema(openapi, client_for, commissioner):
    item = plan_services.evidence_create(
        actor=commissioner, title="Local survey", summary="What people told us.", type="evaluation"
    )
    response = client_for(commissioner).get(f"/api/v1/evidence/{item.slug}/")
    assert response.json()["link"] is None
    assert_conforms(openapi, "/api/v1/evidence/{slug}/", response)
