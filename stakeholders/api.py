"""REST API for areas, organisations, memberships and the signed-in user."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.api import api_validation_error
from stakeholders import permissions, selectors, services
from stakeholders.models import Area, AreaLevel, Membership, Organisation, OrganisationType, Role, User


def raise_api_validation(exc: DjangoValidationError) -> None:
    """Re-raise a service's ValidationError as DRF's. Views need not: the API's exception handler
    (kernel.api.problem_exception_handler) does it for any that reaches it."""
    raise api_validation_error(exc) from exc


# Areas -------------------------------------------------------------------------------


class AreaSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    url = serializers.HyperlinkedIdentityField(view_name="area-detail", lookup_field="code")

    class Meta:
        model = Area
        fields = [
            "url",
            "code",
            "short_code",
            "name",
            "level",
            "parent",
            "inner_london",
            "tile_col",
            "tile_row",
            "population",
        ]


class AreaFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=AreaLevel.choices)
    parent = django_filters.CharFilter(field_name="parent__code", label="Parent area code")

    class Meta:
        model = Area
        fields = ["level", "parent", "inner_london"]


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    """London, its five ICS sub-regions and the 33 boroughs. Public."""

    serializer_class = AreaSerializer
    lookup_field = "code"
    filterset_class = AreaFilter
    search_fields = ["name", "code", "short_code"]
    ordering_fields = ["name", "code", "population"]
    ordering = ["level", "name"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.area_list()


class BoroughViewSet(AreaViewSet):
    """The 33 London boroughs (32 boroughs and the City of London). Public."""

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.area_list(level=AreaLevel.BOROUGH)


# Organisations -----------------------------------------------------------------------


class BoroughCodesField(serializers.ListField):
    """Boroughs as GSS codes, resolved in one query.

    A SlugRelatedField(many=True) looks each code up on its own: 33 queries to say an
    organisation serves all of London.
    """

    child = serializers.CharField(max_length=9)
    default_error_messages = {"does_not_exist": "No borough has the code {codes}."}

    def to_representation(self, value):  # type: ignore[no-untyped-def]
        # `value` is the related manager; .all() reads the viewset's prefetch.
        return [area.code for area in value.all()]

    def to_internal_value(self, data: object) -> list[Area]:
        codes = list(dict.fromkeys(super().to_internal_value(data)))
        found = {area.code: area for area in Area.objects.filter(level=AreaLevel.BOROUGH, code__in=codes)}
        missing = [code for code in codes if code not in found]
        if missing:
            self.fail("does_not_exist", codes=", ".join(missing))
        return [found[code] for code in codes]


class OrganisationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="organisation-detail", lookup_field="slug")
    boroughs = BoroughCodesField(required=False, help_text="GSS codes of the boroughs served, e.g. E09000007.")
    type = serializers.ChoiceField(
        choices=OrganisationType.choices,
        help_text="The kind of body. `other` needs `other_type`, saying what kind (e.g. Healthwatch).",
    )
    other_type = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="What kind of body an organisation of the type `other` is (required then; empty otherwise).",
    )

    class Meta:
        model = Organisation
        fields = [
            "url",
            "slug",
            "name",
            "type",
            "other_type",
            "description",
            "website",
            "boroughs",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "created_at", "updated_at"]


class OrganisationFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=OrganisationType.choices)
    borough = django_filters.CharFilter(field_name="boroughs__code", label="Borough served (GSS code)")

    class Meta:
        model = Organisation
        fields = ["type", "borough"]


class OrganisationPermission(BasePermission):
    """Reads are public; creating needs staff; changing needs the organisation's admins or staff."""

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not request.user.is_authenticated:
            return False
        if getattr(view, "action", None) == "create":
            return permissions.can_create_organisation(request.user)
        return True

    def has_object_permission(self, request: Request, view: object, obj: Organisation) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if request.method == "DELETE":
            return permissions.can_delete_organisation(request.user)
        return permissions.can_edit_organisation(request.user, obj)


class OrganisationViewSet(viewsets.ModelViewSet):
    """The organisation directory. Anyone reads; staff create; admins of an organisation edit it."""

    serializer_class = OrganisationSerializer
    permission_classes = [OrganisationPermission]
    lookup_field = "slug"
    filterset_class = OrganisationFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "type", "created_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Organisation.objects.prefetch_related("boroughs").order_by("name")

    def perform_create(self, serializer: OrganisationSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.organisation_create(actor=self.request.user, **data)

    def perform_update(self, serializer: OrganisationSerializer) -> None:
        data = dict(serializer.validated_data)
        boroughs = data.pop("boroughs", None)
        serializer.instance = services.organisation_update(
            actor=self.request.user, organisation=serializer.instance, boroughs=boroughs, **data
        )

    def perform_destroy(self, instance: Organisation) -> None:
        try:
            services.organisation_delete(actor=self.request.user, organisation=instance)
        except ProtectedError as exc:
            # Submissions, values, actions and contracts keep their organisation: say so, not a 500.
            raise ValidationError(
                {"detail": "This organisation still has submissions, outcome values, actions or contracts."}
            ) from exc


# Memberships -------------------------------------------------------------------------


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "user", "organisation", "role", "job_title", "created_at"]
        read_only_fields = ["id", "job_title", "created_at"]

    def get_user(self, obj: Membership) -> dict[str, str]:
        return {"display_name": obj.user.display_name, "email": obj.user.email}


class MembershipFilter(django_filters.FilterSet):
    organisation = django_filters.CharFilter(field_name="organisation__slug")
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["organisation", "role"]


class MembershipPermission(BasePermission):
    def has_object_permission(self, request: Request, view: object, obj: Membership) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return permissions.can_manage_members(request.user, obj.organisation)


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Memberships of the organisations I belong to. Organisation admins change roles or remove members."""

    serializer_class = MembershipSerializer
    permission_classes = [IsAuthenticated, MembershipPermission]
    filterset_class = MembershipFilter
    ordering_fields = ["created_at", "role"]
    ordering = ["organisation__name", "user__display_name", "role"]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.memberships_of_my_organisations(user=self.request.user)

    def perform_update(self, serializer: MembershipSerializer) -> None:
        if "role" not in serializer.validated_data:
            # A PATCH without a role changes nothing else: ask for the role, not a 500.
            raise ValidationError({"role": ["This field is required."]})
        serializer.instance = services.membership_change_role(
            actor=self.request.user, membership=serializer.instance, role=serializer.validated_data["role"]
        )

    def perform_destroy(self, instance: Membership) -> None:
        services.membership_remove(actor=self.request.user, membership=instance)


# Me ----------------------------------------------------------------------------------


class MeSerializer(serializers.ModelSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["email", "display_name", "lived_experience", "show_lived_experience", "is_staff", "memberships"]
        read_only_fields = fields

    def get_memberships(self, obj: User) -> list[dict[str, str]]:
        return [
            {"organisation": m.organisation.slug, "organisation_name": m.organisation.name, "role": m.role}
            for m in obj.memberships.select_related("organisation").order_by("organisation__name", "role")
        ]


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request: Request) -> Response:
    """The signed-in user and their memberships."""
    return Response(MeSerializer(request.user).data, status=status.HTTP_200_OK)
