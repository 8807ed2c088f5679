"""Sending one request per (route, method, role) and naming the answer's class."""

from __future__ import annotations

from django.db import transaction
from django.test import Client

PAGE_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# One letter per class of answer, in the order of tests.matrix.world.ROLES:
#   A allowed: got past the permission check (2xx, a redirect other than to sign-in, or
#     400/409/412/415/422 on the deliberately minimal body)
#   L login: redirected to sign in          F forbidden: 401 or 403
#   N not found: 404                         - the view does not take this method (405)
#   E a server error (never expected)
LETTERS = "ALFN-E"


def classify(response) -> str:
    code = response.status_code
    if code in (301, 302, 303) and "/account/sign-in/" in response.get("Location", ""):
        return "L"
    if code in (401, 403):
        return "F"
    if code == 404:
        return "N"
    if code == 405:
        return "-"
    if code >= 500:
        return "E"
    return "A"


def methods_for(route) -> tuple[str, ...]:
    """GET always; writes the view may take. DRF views say which; pages take GET and POST."""
    if route.key.endswith(".format"):
        return ("GET",)
    view_class = getattr(route.callback, "cls", None)
    if view_class is None or not route.route.startswith("api/"):
        return PAGE_METHODS
    actions = getattr(route.callback, "actions", None)
    if actions is not None:  # a viewset route: the router bound these methods
        return tuple(m for m in API_METHODS if m.lower() in actions)
    return tuple(m for m in API_METHODS if hasattr(view_class, m.lower()))


def send(client: Client, method: str, url: str, api: bool) -> str:
    """The answer's letter; the request's writes are rolled back so every role sees the same world."""
    savepoint = transaction.savepoint()
    try:
        if method == "GET":
            response = client.get(url)
        elif api:
            response = getattr(client, method.lower())(url, data={}, content_type="application/json")
        else:
            response = getattr(client, method.lower())(url, data={})
    finally:
        transaction.savepoint_rollback(savepoint)
    return classify(response)
