"""Personal API token authentication (django-rest-knox, with our named token model)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication

from stakeholders.models import ApiToken

LAST_USED_RESOLUTION = timedelta(minutes=5)


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token lmh_...`. Records when a token was last used (to the nearest few minutes)."""

    def validate_user(self, auth_token: ApiToken):  # type: ignore[override]
        now = timezone.now()
        if auth_token.last_used_at is None or now - auth_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=auth_token.pk).update(last_used_at=now)
        return super().validate_user(auth_token)


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "stakeholders.auth.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal API token from your profile page, sent as `Token <token>`.",
        }


def axes_username(request, credentials: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    """The sign-in name django-axes counts failures against: the email, lower-cased.

    Whatever form or field a sign-in comes through, `Me@Example.org` and `me@example.org`
    share one failure count.
    """
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if not name and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    return (name or "").strip().lower()
