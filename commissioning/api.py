"""REST API for partnerships, contracts, contract measures and performance (meetings and decisions: decisions/api.py).

The same services and permission questions as the browser pages. Contracts and measures
are versioned: a GET answers with an `ETag` ("v3"); PATCH and DELETE must send it back in
`If-Match` (428 without it, 412 when the record has changed since).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from actionplan.models import Action, Plan
from actionplan.permissions import plans_visible_to
from commissioning import permissions, selectors, services
from commissioning.models import (
    Contract,
    ContractForm,
    ContractMeasure,
    ContractProvider,
    ContractStatus,
    MemberRole,
    Partnership,
    PartnershipMember,
    PartnershipScope,
    ProviderRole,
)
from commissioning.permissions import ContractAccess
from kernel.api import IF_MATCH, VersionedDestroyMixin, VersionedUpdateMixin, problems
from kernel.markdown import render_markdown
from outcomes.models import Indicator
from stakeholders.models import Area, AreaLevel, Organisation

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SignedInWrites(BasePermission):
    """Reads follow each view's queryset; writes need a signed-in user (object rules in the views)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_authenticated)


# Partnerships ----------------------------------------------------------------------------


class PartnershipMemberSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = PartnershipMember
        fields = ["organisation", "role"]


class VisiblePlanSlugField(serializers.SlugRelatedField):
    """A plan by slug, looked up among the plans the requester may read only.

    A hidden plan and a missing one get the same "does not exist" answer, so a write cannot
    be used to find out that a private plan exists.
    """

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Plan.objects.filter(pk__in=_visible_plan_ids(self.context))


class VisibleActionField(serializers.PrimaryKeyRelatedField):
    """An action by id, looked up among the actions of plans the requester may read only."""

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Action.objects.filter(plan_id__in=_visible_plan_ids(self.context))


class PartnershipSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="partnership-detail", lookup_field="slug")
    sub_region = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.filter(level=AreaLevel.SUB_REGION), required=False, allow_null=True
    )
    boroughs = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.filter(level=AreaLevel.BOROUGH), many=True, required=False
    )
    lead = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all(), write_only=True, help_text="Lead commissioner's slug."
    )
    member_organisations = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all(), many=True, write_only=True, required=False
    )
    members = PartnershipMemberSerializer(many=True, read_only=True)
    plans = VisiblePlanSlugField(
        slug_field="slug",
        queryset=Plan.objects.all(),
        many=True,
        required=False,
        help_text="Linked action plans (slugs). Plans you may not read are not listed and cannot be linked.",
    )
    terms_of_reference_html = serializers.SerializerMethodField()

    class Meta:
        model = Partnership
        fields = [
            "url",
            "slug",
            "name",
            "scope",
            "sub_region",
            "boroughs",
            "lead",
            "member_organisations",
            "members",
            "terms_of_reference",
            "terms_of_reference_html",
            "plans",
            "created_at",
        ]
        read_only_fields = ["slug", "created_at"]

    def to_representation(self, instance: Partnership) -> dict[str, Any]:
        data = super().to_representation(instance)
        visible = _visible_plan_ids(self.context)
        data["plans"] = [p.slug for p in instance.plans.all() if p.pk in visible]
        return data

    def get_terms_of_reference_html(self, obj: Partnership) -> str:
        return str(render_markdown(obj.terms_of_reference, top_heading=2))


class PartnershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Partnerships of commissioners. Anyone reads; commissioners start them; members manage them."""

    serializer_class = PartnershipSerializer
    permission_classes = [SignedInWrites]
    lookup_field = "slug"
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["scope"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Partnership.objects.select_related("sub_region").prefetch_related(
            "boroughs", "plans", Prefetch("members", queryset=PartnershipMember.objects.select_related("organisation"))
        )

    def _values(self, data: dict[str, Any], partnership: Partnership | None = None) -> dict[str, Any]:
        current_members = (
            [m.organisation for m in partnership.members.all() if m.role != MemberRole.LEAD] if partnership else []
        )
        current_lead = (
            next((m.organisation for m in partnership.members.all() if m.role == MemberRole.LEAD), None)
            if partnership
            else None
        )
        return {
            "name": data.get("name", partnership.name if partnership else ""),
            "scope": data.get("scope", partnership.scope if partnership else PartnershipScope.BOROUGHS),
            "sub_region": data.get("sub_region", partnership.sub_region if partnership else None),
            "boroughs": data.get("boroughs", list(partnership.boroughs.all()) if partnership else []),
            "lead": data.get("lead", current_lead),
            "members": data.get("member_organisations", current_members),
            "terms_of_reference": data.get("terms_of_reference", partnership.terms_of_reference if partnership else ""),
            "plans": self._plans(data, partnership),
        }

    def _plans(self, data: dict[str, Any], partnership: Partnership | None) -> list[Plan] | None:
        if "plans" not in data:
            return None if partnership else []
        if partnership is None:
            return data["plans"]
        # Linked plans this user cannot read stay linked: they could not have listed them.
        hidden = partnership.plans.exclude(pk__in=plans_visible_to(self.request.user).values("pk"))
        return [*data["plans"], *hidden]

    def perform_create(self, serializer: PartnershipSerializer) -> None:
        values = self._values(serializer.validated_data)
        leads = permissions.partnership_lead_choices(self.request.user)
        if not permissions.can_create_partnership(self.request.user) or not leads.filter(pk=values["lead"].pk).exists():
            raise permissions_denied("You may start a partnership only with your own organisation as lead.")
        values["plans"] = values["plans"] or []
        serializer.instance = services.partnership_create(actor=self.request.user, **values)

    def perform_update(self, serializer: PartnershipSerializer) -> None:
        partnership = serializer.instance
        if not permissions.can_manage_partnership(self.request.user, partnership):
            raise permissions_denied()
        values = self._values(serializer.validated_data, partnership)
        if (
            not permissions.partnership_lead_choices(self.request.user, partnership)
            .filter(pk=values["lead"].pk)
            .exists()
        ):
            raise serializers.ValidationError({"lead": ["The lead must be a member or your own organisation."]})
        serializer.instance = services.partnership_update(actor=self.request.user, partnership=partnership, **values)


def _visible_plan_ids(context: dict[str, Any]) -> set[int]:
    """Ids of the plans the requesting user may read, computed once per response."""
    if "visible_plan_ids" not in context:
        context["visible_plan_ids"] = set(plans_visible_to(context["request"].user).values_list("pk", flat=True))
    return context["visible_plan_ids"]


def permissions_denied(detail: str | None = None) -> Exception:
    from rest_framework.exceptions import PermissionDenied

    return PermissionDenied(detail)


# Meetings and decisions: commissioning/decisions/api.py (issue 22).


# Contracts -------------------------------------------------------------------------------


class ContractProviderSerializer(serializers.Serializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    role = serializers.ChoiceField(choices=ProviderRole.choices)


MAX_PENCE = 2**63 - 1  # PostgreSQL bigint

# Fields a public summary leaves out (null).
PRIVATE_CONTRACT_FIELDS = ("service_description", "annual_value_pence", "start_date", "end_date", "agreed", "version")


class ContractSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="contract-detail")
    commissioner_organisation = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    commissioner_partnership = serializers.SlugRelatedField(
        slug_field="slug", queryset=Partnership.objects.all(), required=False, allow_null=True
    )
    providers = ContractProviderSerializer(many=True)
    boroughs = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.filter(level=AreaLevel.BOROUGH), many=True
    )
    service_description = serializers.CharField(allow_null=True)
    annual_value_pence = serializers.IntegerField(min_value=0, max_value=MAX_PENCE, allow_null=True)
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    agreed = serializers.BooleanField(required=False, allow_null=True)
    version = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=ContractStatus.choices, read_only=True)
    value_band = serializers.CharField(read_only=True)
    access = serializers.SerializerMethodField(help_text="manage, read, or public (summary: private fields are null).")

    class Meta:
        model = Contract
        fields = [
            "id",
            "url",
            "reference",
            "title",
            "service_description",
            "commissioner_organisation",
            "commissioner_partnership",
            "form",
            "providers",
            "boroughs",
            "annual_value_pence",
            "value_band",
            "start_date",
            "end_date",
            "status",
            "agreed",
            "publishable",
            "version",
            "access",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=[a.value for a in ContractAccess]))
    def get_access(self, obj: Contract) -> str:
        return str(self._access(obj))

    def _access(self, obj: Contract) -> ContractAccess | None:
        return permissions.contract_access(self.context["request"].user, obj)

    def to_representation(self, instance: Contract) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["providers"] = [{"organisation": p.organisation.slug, "role": p.role} for p in instance.providers.all()]
        if self._access(instance) == ContractAccess.PUBLIC:
            for name in PRIVATE_CONTRACT_FIELDS:
                data[name] = None
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("service_description", "annual_value_pence", "start_date", "end_date"):
            if name in attrs and attrs[name] is None:
                raise serializers.ValidationError({name: ["This field may not be null."]})
        return attrs


class ContractFilter(django_filters.FilterSet):
    commissioner_organisation = django_filters.CharFilter(field_name="commissioner_organisation__slug")
    commissioner_partnership = django_filters.CharFilter(field_name="commissioner_partnership__slug")
    provider = django_filters.CharFilter(field_name="providers__organisation__slug", label="Provider slug")
    borough = django_filters.CharFilter(field_name="boroughs__code", label="Borough GSS code")
    form = django_filters.ChoiceFilter(choices=ContractForm.choices)
    status = django_filters.ChoiceFilter(field_name="current_status", choices=ContractStatus.choices)

    class Meta:
        model = Contract
        fields = ["form", "publishable"]


class PerformancePointSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    numerator = serializers.DecimalField(
        max_digits=24, decimal_places=4, allow_null=True, help_text="null when suppressed (or a mean's sum of scores)"
    )
    denominator = serializers.IntegerField(allow_null=True)
    population = serializers.IntegerField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    lower95 = serializers.FloatField(allow_null=True, source="lower")
    upper95 = serializers.FloatField(allow_null=True, source="upper")
    boroughs_reporting = serializers.IntegerField()
    suppressed = serializers.BooleanField(help_text="Hidden under disclosure control (shown as * on the page).")
    controlled = serializers.BooleanField(
        help_text="Counts rounded to 5 and small ones suppressed: you do not commission every borough of the contract."
    )


class MeasurePerformanceSerializer(serializers.Serializer):
    measure = serializers.IntegerField(source="measure.pk")
    indicator = serializers.CharField(source="measure.indicator.code")
    polarity = serializers.CharField(source="measure.indicator.polarity")
    target = serializers.DecimalField(source="measure.target", max_digits=14, decimal_places=4)
    share_bp = serializers.IntegerField(source="measure.share_bp")
    judgement = serializers.ChoiceField(choices=["met", "not_met", "unknown"])
    linked_pence = serializers.IntegerField()
    earned_pence = serializers.IntegerField()
    at_risk_pence = serializers.IntegerField()
    boroughs_total = serializers.IntegerField()
    latest = PerformancePointSerializer(allow_null=True)
    trend = PerformancePointSerializer(many=True)


class ContractPerformanceSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    annual_value_pence = serializers.IntegerField()
    linked_pence = serializers.IntegerField()
    earned_pence = serializers.IntegerField()
    at_risk_pence = serializers.IntegerField()
    pending_pence = serializers.IntegerField()
    measures = MeasurePerformanceSerializer(many=True)


class ContractViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    VersionedUpdateMixin,
    viewsets.GenericViewSet,
):
    """Contracts you manage or provide (in full) and publishable ones (as a public summary).

    PATCH needs `If-Match` with the ETag of your last GET.
    """

    serializer_class = ContractSerializer
    permission_classes = [SignedInWrites]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = ContractFilter
    ordering_fields = ["reference", "title", "start_date", "end_date"]
    ordering = ["reference"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return (
            permissions.visible_contracts(self.request.user)
            .with_status()
            .select_related("commissioner_organisation", "commissioner_partnership")
            .prefetch_related(
                Prefetch("providers", queryset=ContractProvider.objects.select_related("organisation")), "boroughs"
            )
        )

    def get_object(self) -> Contract:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        contract, _ = permissions.get_contract_for_user_or_404(
            self.request.user, int(pk), write=self.request.method not in SAFE_METHODS
        )
        return contract

    def _commissioner_allowed(self, data: dict[str, Any]) -> bool:
        user = self.request.user
        org, partnership = data.get("commissioner_organisation"), data.get("commissioner_partnership")
        if org is not None and not permissions.commissioner_organisation_choices(user).filter(pk=org.pk).exists():
            return False
        return not (
            partnership is not None
            and not permissions.commissioner_partnership_choices(user).filter(pk=partnership.pk).exists()
        )

    def perform_create(self, serializer: ContractSerializer) -> None:
        if not permissions.can_create_contract(self.request.user):
            raise permissions_denied()
        data = dict(serializer.validated_data)
        if not self._commissioner_allowed(data):
            raise permissions_denied("You may create contracts only for commissioners you commission for.")
        data["providers"] = [(p["organisation"], p["role"]) for p in data.pop("providers")]
        data.pop("version", None)
        serializer.instance = services.contract_create(actor=self.request.user, **data)

    @extend_schema(parameters=[IF_MATCH], responses={200: ContractSerializer, **problems(412, 428)})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def versioned_update(self, contract: Contract, data: dict[str, Any], expected_version: int) -> None:
        if (
            "commissioner_organisation" in data or "commissioner_partnership" in data
        ) and not self._commissioner_allowed(data):
            raise permissions_denied("You may move contracts only to commissioners you commission for.")
        if "commissioner_organisation" in data and data["commissioner_organisation"] is not None:
            data.setdefault("commissioner_partnership", None)
        if "commissioner_partnership" in data and data["commissioner_partnership"] is not None:
            data.setdefault("commissioner_organisation", None)
        providers = data.pop("providers", None)
        if providers is not None:
            providers = [(p["organisation"], p["role"]) for p in providers]
        boroughs = data.pop("boroughs", None)
        services.contract_update(
            actor=self.request.user,
            contract=contract,
            expected_version=expected_version,
            providers=providers,
            boroughs=boroughs,
            **data,
        )

    def fresh(self, contract: Contract) -> Contract:
        return permissions.get_contract_for_user_or_404(self.request.user, contract.pk)[0]

    @extend_schema(responses={200: ContractPerformanceSerializer})
    @action(detail=True, methods=["get"])
    def performance(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        """Per measure: latest value over the contract's boroughs from summed figures, 95% limits,
        target met / not met / unknown, value earned and at risk, and the trend. Managers and providers."""
        if not str(pk).isdigit():
            raise Http404
        contract, access = permissions.get_contract_for_user_or_404(request.user, int(pk))
        if not permissions.can_view_performance(access):
            raise permissions_denied("Performance is shown to the contract's commissioners and providers.")
        exact = permissions.sees_exact_performance(request.user, contract)
        rows = selectors.contract_performance(contract, list(selectors.contract_measures(contract)), exact=exact)
        totals = selectors.performance_totals(rows)
        document = {
            "contract": contract.pk,
            "annual_value_pence": contract.annual_value_pence,
            "linked_pence": totals["linked"],
            "earned_pence": totals["earned"],
            "at_risk_pence": totals["at_risk"],
            "pending_pence": totals["pending"],
            "measures": rows,
        }
        return Response(ContractPerformanceSerializer(document).data)


# Measures --------------------------------------------------------------------------------


class ReadableContractField(serializers.PrimaryKeyRelatedField):
    """A contract the requesting user reads in full; others are "does not exist", so ids do not leak."""

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return permissions.readable_contracts(self.context["request"].user)


class ContractMeasureSerializer(serializers.ModelSerializer):
    contract = ReadableContractField()
    indicator = serializers.SlugRelatedField(slug_field="code", queryset=Indicator.objects.all())
    share_percent = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True)
    linked_pence = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContractMeasure
        fields = [
            "id",
            "contract",
            "indicator",
            "baseline",
            "target",
            "share_bp",
            "share_percent",
            "linked_pence",
            "version",
        ]
        read_only_fields = ["id", "version"]


class ContractMeasureFilter(django_filters.FilterSet):
    class Meta:
        model = ContractMeasure
        fields = ["contract"]


class ContractMeasureViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    VersionedUpdateMixin,
    VersionedDestroyMixin,
    viewsets.GenericViewSet,
):
    """Outcome measures of the contracts you manage or provide. PATCH and DELETE need `If-Match`."""

    serializer_class = ContractMeasureSerializer
    permission_classes = [SignedInWrites]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = ContractMeasureFilter
    ordering_fields = ["id"]
    ordering = ["contract_id", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ContractMeasure.objects.filter(
            contract__in=permissions.readable_contracts(self.request.user).values("pk")
        ).select_related("indicator", "contract")

    def get_object(self) -> ContractMeasure:
        pk = self.kwargs["pk"]
        measure = (
            ContractMeasure.objects.select_related("indicator", "contract").filter(pk=pk).first()
            if str(pk).isdigit()
            else None
        )
        if measure is None:
            raise Http404
        # Read access first: a measure the person may not read is a 404 for writes too (as
        # for its GET), so a write cannot confirm that it exists; then 403 for readers.
        contract, access = permissions.get_contract_for_user_or_404(self.request.user, measure.contract_id)
        if not permissions.can_view_performance(access):
            raise Http404  # a public summary shows no measures
        if self.request.method not in SAFE_METHODS:
            permissions.require(access == permissions.ContractAccess.MANAGE)
        measure.contract = contract
        return measure

    def perform_create(self, serializer: ContractMeasureSerializer) -> None:
        data = dict(serializer.validated_data)
        contract = data.pop("contract")
        permissions.get_contract_for_user_or_404(self.request.user, contract.pk, write=True)
        serializer.instance = services.measure_create(actor=self.request.user, contract=contract, **data)

    @extend_schema(parameters=[IF_MATCH], responses={200: ContractMeasureSerializer, **problems(412, 428)})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def versioned_update(self, measure: ContractMeasure, data: dict[str, Any], expected_version: int) -> Any:
        if "contract" in data and data.pop("contract").pk != measure.contract_id:
            raise serializers.ValidationError({"contract": ["A measure cannot move to another contract."]})
        return services.measure_update(
            actor=self.request.user, measure=measure, expected_version=expected_version, **data
        )

    def fresh(self, measure: ContractMeasure) -> ContractMeasure:
        return measure  # the service's own, with its contract

    @extend_schema(parameters=[IF_MATCH], responses={204: None, **problems(412, 428)})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def versioned_destroy(self, measure: ContractMeasure, expected_version: int) -> None:
        services.measure_delete(actor=self.request.user, measure=measure, expected_version=expected_version)


__all__ = [
    "ContractMeasureViewSet",
    "ContractViewSet",
    "PartnershipViewSet",
]
