from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm

from stakeholders.models import Area, AreaLevel, LivedExperience, Organisation, OrganisationType, Role


class LockoutAwareAuthenticationMixin:
    """Authenticate so that django-axes counts failures against the account signed in to.

    axes reads the username from the credentials under AXES_USERNAME_FORM_FIELD, which
    defaults to the user model's USERNAME_FIELD ("email"); Django's AuthenticationForm
    passes it as `username`. Then every failure was recorded for username None: the real
    account was never locked, and anyone's fifth failure behind one NAT address showed the
    lockout page. Passing the address under both names works whichever field axes reads.
    Lower-casing it makes Foo@ and foo@ (one account: sign-in is case-insensitive) share
    one count, so changing case buys no extra guesses.
    """

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()  # type: ignore[attr-defined]

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")  # type: ignore[attr-defined]
        password = self.cleaned_data.get("password")  # type: ignore[attr-defined]
        if username is not None and password:
            self.user_cache = authenticate(
                self.request,  # type: ignore[attr-defined]
                username=username,
                email=username,
                password=password,
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()  # type: ignore[attr-defined]
            self.confirm_login_allowed(self.user_cache)  # type: ignore[attr-defined]
        return self.cleaned_data  # type: ignore[attr-defined]


class SignInForm(LockoutAwareAuthenticationMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    error_messages = {
        "invalid_login": "Enter a correct email address and password. Both may be case-sensitive.",
        "inactive": "This account is inactive.",
    }


class StaffSignInForm(LockoutAwareAuthenticationMixin, AdminAuthenticationForm):
    """The Django admin's sign-in, with the same lockout accounting as the portal's."""


class SignUpForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=80,
        error_messages={
            "required": "Enter a display name",
            "max_length": "Display name must be 80 characters or fewer",
        },
        help_text="Shown beside what you write. You can use a pseudonym.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    email = forms.EmailField(
        label="Email address",
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
        help_text="We use this to sign you in and, if you choose, to tell you about replies. It is never shown.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Create a password",
        strip=False,
        error_messages={"required": "Create a password"},
        help_text="At least 10 characters. Avoid common words.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    lived_experience = forms.ChoiceField(
        label="Do you have lived experience of mental-health services?",
        choices=LivedExperience.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=(
            "Optional: you can leave it blank. We ask so that commissioners can see how much of what they hear "
            "comes from people who use services and carers, and so that you can choose to show a badge. "
            "It is never shown with your name unless you choose the badge, and you can change it on your profile."
        ),
    )
    show_lived_experience = forms.BooleanField(label="Show a lived-experience badge beside my comments", required=False)
    accept_terms = forms.BooleanField(
        label="I agree to the terms of use and the community guidelines",
        error_messages={"required": "You must agree to the terms of use to create an account"},
    )

    def clean(self) -> dict:
        data = super().clean()
        password = data.get("password")
        if password:
            from stakeholders.models import User

            probe = User(email=data.get("email", ""), display_name=data.get("display_name", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class ProfileForm(forms.Form):
    display_name = forms.CharField(label="Display name", max_length=80)
    lived_experience = forms.ChoiceField(
        label="Do you have lived experience of mental-health services?",
        choices=LivedExperience.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    show_lived_experience = forms.BooleanField(label="Show a lived-experience badge beside my comments", required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=80, help_text="For example, 'monthly upload script'.")
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=90,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label="Search by name or description", required=False)
    type = forms.ChoiceField(label="Type", required=False, choices=[("", "All types"), *OrganisationType.choices])
    borough = forms.ChoiceField(label="Borough served", required=False, choices=[])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        boroughs = Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name").values_list("code", "name")
        self.fields["borough"].choices = [("", "All boroughs"), *boroughs]


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(label="Website", required=False, assume_scheme="https")
    boroughs = forms.ModelMultipleChoiceField(
        label="Boroughs served",
        queryset=Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Organisation
        fields = ["name", "type", "other_type", "description", "website", "boroughs"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        labels = {"type": "Type", "other_type": "If Other, what kind of organisation"}
        help_texts = {"other_type": "For example: Healthwatch, ambulance service, regional government."}

    def __init__(self, *args: object, can_change_type: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not can_change_type:
            # The type decides what an organisation may do: staff set it (organisation_update checks too).
            del self.fields["type"]
            del self.fields["other_type"]
