"""Personal API token authentication (django-rest-knox, with our named token model)."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from stakeholders.models import ApiToken

LAST_USED_RESOLUTION = timedelta(minutes=5)


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token lmh_...`. Records when a token was last used (to the nearest few minutes)."""

    def validate_user(self, auth_token: ApiToken):  # type: ignore[override]
        """Refuse the token of an inactive or locked-out person; note when it was last used."""
        now = timezone.now()
        if _locked_out(auth_token.user.email, now):
            raise exceptions.AuthenticationFailed(
                "This account is locked after too many failed sign-ins; its tokens work again when the lock ends."
            )
        if auth_token.last_used_at is None or now - auth_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=auth_token.pk).update(last_used_at=now)
        return super().validate_user(auth_token)


def _locked_out(email: str, now) -> bool:  # type: ignore[no-untyped-def]
    """True while django-axes holds a lockout on this sign-in name, from any address.

    A token is refused (not revoked) during a lockout: someone guessing the password must
    not be able to use the account by other means meanwhile, and a stranger who fails five
    sign-ins on purpose can at most pause the owner's scripts for the cool-off time, not
    delete their tokens.
    """
    return AccessAttempt.objects.filter(
        username=email.strip().lower(),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gte=now - settings.AXES_COOLOFF_TIME,
    ).exists()


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
