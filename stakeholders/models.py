"""People, organisations and places: who takes part in London's mental-health system."""

from __future__ import annotations

from typing import Any

import pghistory
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from knox.models import AbstractAuthToken


class AreaLevel(models.TextChoices):
    LONDON = "london", "London"
    SUB_REGION = "sub_region", "ICS sub-region"
    BOROUGH = "borough", "Borough"


class AreaQuerySet(models.QuerySet):
    def boroughs(self) -> AreaQuerySet:
        return self.filter(level=AreaLevel.BOROUGH)

    def sub_regions(self) -> AreaQuerySet:
        return self.filter(level=AreaLevel.SUB_REGION)


class Area(models.Model):
    """A place figures are reported for: London, one of its five ICS sub-regions, or a borough.

    The 33 boroughs (32 London boroughs and the City of London) come from
    stakeholders/data/london_areas.csv through a data migration; London and the
    sub-regions sit above them through `parent`.
    """

    code = models.CharField(max_length=9, unique=True, help_text="ONS GSS code, e.g. E09000001.")
    short_code = models.CharField(max_length=3, unique=True, help_text="NCL, BAR, LDN ...")
    name = models.CharField(max_length=100, unique=True)
    level = models.CharField(max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    inner_london = models.BooleanField(null=True, blank=True)
    tile_col = models.PositiveSmallIntegerField(null=True, blank=True)
    tile_row = models.PositiveSmallIntegerField(null=True, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True, help_text="Census 2021 usual residents.")

    objects = AreaQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="area_borough_has_tile_and_parent",
                condition=~models.Q(level=AreaLevel.BOROUGH)
                | models.Q(parent__isnull=False, tile_col__isnull=False, tile_row__isnull=False),
            ),
            models.UniqueConstraint(
                name="area_one_tile_per_position",
                fields=["tile_col", "tile_row"],
                condition=models.Q(level=AreaLevel.BOROUGH),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("area_detail", args=[self.code])

    @property
    def is_borough(self) -> bool:
        return self.level == AreaLevel.BOROUGH


class OrganisationType(models.TextChoices):
    """Every stakeholder group London's plan of action names, each as itself (docs/architecture.md)."""

    ICB_COMMISSIONER = "icb", "ICB commissioner"
    LA_COMMISSIONER = "la", "Local-authority commissioner"
    NHS_MH_PROVIDER = "nhs_mh_provider", "NHS mental-health provider"
    INDEPENDENT_PROVIDER = "independent_provider", "Independent (private) provider"
    PRIMARY_CARE = "primary_care", "Primary care"
    SOCIAL_CARE = "social_care", "Social care"
    HOUSING = "housing", "Specialist housing"
    VOLUNTARY = "voluntary", "Voluntary and community sector"
    POLICE = "police", "Police"
    PUBLIC_HEALTH = "public_health", "Public health (borough or London team)"
    NATIONAL_PUBLIC_HEALTH = "national_public_health", "UK Health Security Agency / OHID (national public health)"
    NHS_ENGLAND = "nhs_england", "NHS England"
    ACADEMIC = "academic", "Academic"
    AHSN = "ahsn", "Health innovation network (AHSN)"
    ARC = "arc", "Applied research collaboration (ARC)"
    CLINICAL_NETWORK = "clinical_network", "Clinical network"
    SERVICE_USER_GROUP = "service_user_group", "Service-user or carer group"
    OTHER = "other", "Other"


COMMISSIONER_TYPES = frozenset({OrganisationType.ICB_COMMISSIONER, OrganisationType.LA_COMMISSIONER})


@pghistory.track()
class Organisation(models.Model):
    """A body that takes part: commissioner, provider, police, academic, service-user group ..."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    type = models.CharField(max_length=30, choices=OrganisationType.choices, db_index=True)
    other_type = models.CharField(
        "kind of organisation",
        max_length=100,
        blank=True,
        help_text="Only for the type Other, and then required: e.g. Healthwatch, ambulance service, regional "
        "government.",
    )
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    boroughs = models.ManyToManyField(
        Area,
        related_name="organisations",
        blank=True,
        limit_choices_to={"level": AreaLevel.BOROUGH},
        help_text="The boroughs this organisation serves or commissions for.",
    )
    # Permissions given to this group reach every member of the organisation.
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="organisation")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(Lower("name"), name="organisation_lower_name")]
        constraints = [
            # "Other" says what kind; every other type says it by itself.
            models.CheckConstraint(
                condition=(models.Q(type="other") & ~models.Q(other_type=""))
                | (~models.Q(type="other") & models.Q(other_type="")),
                name="organisation_other_type_with_other_only",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organisation_detail", args=[self.slug])

    def clean(self) -> None:
        super().clean()
        # A type of its own says what kind the organisation is: a kind left from "Other" goes.
        self.other_type = self.other_type.strip() if self.type == OrganisationType.OTHER else ""
        if self.type == OrganisationType.OTHER and not self.other_type:
            raise ValidationError({"other_type": "Say what kind of organisation this is, e.g. Healthwatch."})

    @property
    def type_label(self) -> str:
        """The type as people read it: an Other organisation's own kind, e.g. "Healthwatch"."""
        return self.other_type if self.type == OrganisationType.OTHER else self.get_type_display()

    @property
    def is_commissioner(self) -> bool:
        return self.type in COMMISSIONER_TYPES


class LivedExperience(models.TextChoices):
    NONE = "", "No"
    SERVICE_USER = "service_user", "Yes, as someone who uses or has used mental-health services"
    CARER = "carer", "Yes, as a carer"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("display_name", "Administrator")
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in is case-insensitive on email.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in. Email is the sign-in name; display names may be pseudonyms."""

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(
        max_length=80, help_text="Shown beside what you write. It does not have to be your real name."
    )
    lived_experience = models.CharField(
        max_length=20, choices=LivedExperience.choices, blank=True, default=LivedExperience.NONE
    )
    show_lived_experience = models.BooleanField(
        default=False, help_text="Show a lived-experience badge beside your comments."
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    # An account made by an organisation's admin or an invitation has an address someone vouched
    # for; one made by signing up has none until its owner opens the link emailed to it
    # (stakeholders.services.email_verify). Unverified accounts cannot comment or follow.
    email_verified_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["display_name", "email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password (changed or reset) or a deactivation revokes the person's API tokens.

        ``set_password`` leaves the new password in ``_password`` until the save (Django uses it
        for its password validators), so a change or reset through any form or service is seen
        here. A token is a second way in: whoever changes a password because it leaked must
        not leave a token made with it working (issue 25).
        """
        revoke = not self._state.adding and (self._password is not None or not self.is_active)
        super().save(*args, **kwargs)
        if revoke:
            ApiToken.objects.filter(user=self).delete()

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    @property
    def has_lived_experience(self) -> bool:
        return bool(self.lived_experience)


class Role(models.TextChoices):
    COMMISSIONER = "commissioner", "Commissioner"
    DATA_SUBMITTER = "data_submitter", "Data submitter"
    CLINICIAN = "clinician", "Clinician"
    ACADEMIC = "academic", "Academic"
    MODERATOR = "moderator", "Moderator"
    ORG_ADMIN = "org_admin", "Organisation admin"


@pghistory.track()
class Membership(models.Model):
    """A person's role in an organisation. One row per role: a person may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    job_title = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["organisation__name", "user__display_name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.organisation}"


class Invitation(models.Model):
    """An organisation admin's invitation to join with a role, accepted through a signed link."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "organisation",
                "role",
                name="invitation_one_pending_per_role",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organisation} as {self.get_role_display()}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class ApiToken(AbstractAuthToken):
    """A personal API token: named, expiring, revocable; only a hash is stored (django-rest-knox)."""

    name = models.CharField(max_length=80, help_text="What the token is for, e.g. 'monthly upload script'.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}...)"


@pghistory.track()
class PolicyPage(models.Model):
    """The privacy notice, terms of use and community guidelines: written for a UK NHS and council
    deployment (migration 0005), kept up to date by staff in the admin, every change in history."""

    class Kind(models.TextChoices):
        PRIVACY = "privacy", "Privacy notice"
        TERMS = "terms", "Terms of use"
        GUIDELINES = "community-guidelines", "Community guidelines"

    slug = models.SlugField(unique=True, choices=Kind.choices)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True, help_text="One sentence shown under the title.")
    body = models.TextField(help_text="Markdown: headings with ##, lists with -, links as [text](https://...).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title
