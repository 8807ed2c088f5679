"""Pages for the directory, boroughs, accounts, profile, tokens and membership management."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.module_loading import import_string
from django.views.decorators.http import require_http_methods, require_POST

from kernel.forms import add_service_errors
from kernel.markdown import render_markdown
from stakeholders import permissions, selectors, services
from stakeholders.forms import (
    ApiTokenForm,
    InvitationForm,
    MembershipRoleForm,
    OrganisationFilterForm,
    OrganisationForm,
    ProfileForm,
    SignInForm,
    SignUpForm,
)
from stakeholders.models import ApiToken, AreaLevel, Organisation, PolicyPage, User

DIRECTORY_PAGE_SIZE = 20


# Directory ---------------------------------------------------------------------------


def organisation_list(request: HttpRequest) -> HttpResponse:
    form = OrganisationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.organisation_list(
        q=filters.get("q", ""), type=filters.get("type", ""), borough=filters.get("borough", "")
    )
    page = Paginator(qs, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "stakeholders/organisation_list.html", {"form": form, "page": page})


def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(selectors.organisation_detail(slug=slug))
    members = None
    if permissions.can_view_members(request.user, organisation):
        members = list(selectors.organisation_members(organisation=organisation))
    return render(
        request,
        "stakeholders/organisation_detail.html",
        {
            "organisation": organisation,
            "members": members,
            "can_manage": permissions.can_manage_members(request.user, organisation),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    permissions.require(permissions.can_edit_organisation(request.user, organisation))
    form = OrganisationForm(request.POST or None, instance=organisation, can_change_type=request.user.is_staff)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        boroughs = list(data.pop("boroughs"))
        try:
            services.organisation_update(
                actor=request.user, organisation=Organisation.objects.get(pk=organisation.pk), boroughs=boroughs, **data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Organisation details saved.")
            return redirect(organisation)
    return render(request, "stakeholders/organisation_edit.html", {"organisation": organisation, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def organisation_members(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    permissions.require(permissions.can_manage_members(request.user, organisation))
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(actor=request.user, organisation=organisation, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("organisation_members", slug=organisation.slug)
    return render(
        request,
        "stakeholders/organisation_members.html",
        {
            "organisation": organisation,
            "form": form,
            "members": list(selectors.organisation_members(organisation=organisation)),
            "invitations": list(selectors.organisation_pending_invitations(organisation=organisation)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    membership = permissions.get_membership_for_manager_or_404(request.user, organisation, pk)
    form = MembershipRoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST":
        if "remove" in request.POST:
            try:
                services.membership_remove(actor=request.user, membership=membership)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{membership.user} no longer has the role {membership.get_role_display()}.")
                return redirect("organisation_members", slug=organisation.slug)
        elif form.is_valid():
            try:
                services.membership_change_role(
                    actor=request.user, membership=membership, role=form.cleaned_data["role"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{membership.user}'s role changed.")
                return redirect("organisation_members", slug=organisation.slug)
    return render(
        request,
        "stakeholders/membership_edit.html",
        {"organisation": organisation, "membership": membership, "form": form},
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    invitation = permissions.get_invitation_for_manager_or_404(request.user, organisation, pk)
    try:
        services.invitation_revoke(actor=request.user, invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("organisation_members", slug=organisation.slug)


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_from_token(token)
    if invitation is None:
        return render(request, "stakeholders/invitation_invalid.html", status=404)
    if not invitation.is_open:
        return render(request, "stakeholders/invitation_invalid.html", {"invitation": invitation}, status=410)
    error = None
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invitation_accept(user=request.user, invitation=invitation)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"You are now a member of {invitation.organisation}.")
            return redirect(invitation.organisation)
    return render(
        request,
        "stakeholders/invitation_accept.html",
        {"invitation": invitation, "error": error, "token": token},
    )


# Places ------------------------------------------------------------------------------


def area_list(request: HttpRequest) -> HttpResponse:
    boroughs = list(selectors.borough_list())
    by_region: dict[str, list] = {}
    for borough in boroughs:
        by_region.setdefault(borough.parent.name, []).append(borough)
    return render(request, "stakeholders/area_list.html", {"by_region": sorted(by_region.items())})


def area_detail(request: HttpRequest, code: str) -> HttpResponse:
    area = get_object_or_404(selectors.area_detail(code=code))
    return render(request, "stakeholders/area_detail.html", {"area": area, "AreaLevel": AreaLevel})


# Accounts ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("profile")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_sign_up(
                email=data["email"],
                password=data["password"],
                display_name=data["display_name"],
                lived_experience=data["lived_experience"],
                show_lived_experience=data["show_lived_experience"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # The same answer whether or not the email already had an account (the service
            # emails the address either way), so sign-up cannot be used to find out who has one.
            messages.success(
                request,
                "Thank you. We have sent an email to that address: open the link in it to confirm the address,"
                " then sign in with it and your password.",
            )
            login_url = reverse("login")
            next_url = request.GET.get("next")
            if next_url and url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(f"{login_url}?{urlencode({'next': next_url})}")
            return redirect(login_url)
    return render(request, "registration/sign_up.html", {"form": form})


@require_http_methods(["GET"])
def sign_out_confirm(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("home")
    return render(request, "registration/sign_out.html")


def landing_url(user: User) -> str:
    """Where a person lands after signing in: the SIGN_IN_LANDING setting's function decides
    (actionplan.selectors.landing_url; stakeholders sits below actionplan and does not import it)."""
    return import_string(settings.SIGN_IN_LANDING)(user=user)


class SignInView(auth_views.LoginView):
    """Sign in, then land where the person's work is (landing_url); a safe ``next`` still wins."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request.user)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={
            "display_name": user.display_name,
            "lived_experience": user.lived_experience,
            "show_lived_experience": user.show_lived_experience,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_profile(actor=user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("profile")
    memberships = list(user.memberships.select_related("organisation").order_by("organisation__name", "role"))
    tokens = list(ApiToken.objects.filter(user=user).order_by("-created"))
    return render(
        request,
        "stakeholders/profile.html",
        {"form": form, "memberships": memberships, "tokens": tokens, "token_form": ApiTokenForm()},
    )


@login_required
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    plain = None
    if form.is_valid():
        try:
            token, plain = services.api_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Shown once, on this response only; never stored in plain text.
            response = render(request, "stakeholders/token_created.html", {"token": token, "plain": plain})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "stakeholders/token_form_page.html", {"token_form": form}, status=400)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, key: str) -> HttpResponse:
    # Another person's token is a 404: its existence must not leak.
    token = get_object_or_404(ApiToken, token_key=key, user=request.user)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token '{token.name}' revoked. Scripts using it will stop working.")
    return redirect("profile")


@require_http_methods(["GET"])
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the sign-up email. Anyone holding it may open it: the token is the permission."""
    try:
        user = services.email_verify(token)
    except ValidationError as exc:
        return render(request, "registration/email_verify.html", {"error": exc.messages[0]}, status=400)
    messages.success(
        request, "Thank you: your email address is confirmed. You can now comment on plans and follow them."
    )
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect(landing_url(user))
    return redirect("login")


@login_required
@require_POST
def email_verify_resend(request: HttpRequest) -> HttpResponse:
    """Send the confirmation link again (to the signed-in person's own address only)."""
    if request.user.email_verified:
        messages.info(request, "Your email address is already confirmed.")
    elif services.email_verify_resend(actor=request.user):
        messages.success(
            request, f"We have sent a new link to {request.user.email}. It can take a few minutes to arrive."
        )
    else:
        messages.info(request, "We sent a link less than a minute ago. Check your inbox and spam folder.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("profile")


@require_http_methods(["GET"])
def policy_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The privacy notice, terms of use or community guidelines: public, kept by staff in the admin."""
    page = get_object_or_404(PolicyPage, slug=slug)
    # "## Heading" in the text is the page's second level, under its title.
    body = render_markdown(page.body, top_heading=1)
    return render(request, "stakeholders/policy_page.html", {"page": page, "body": body})
