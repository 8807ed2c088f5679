"""REST API for reporting schedules and completeness.

The same services and permission questions as the pages. Schedules are versioned: a GET
answers with an `ETag` ("v3"); PATCH must send it back in `If-Match` (428 without it, 412
when the schedule has changed since). Everything here needs signing in.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from commissioning.schedules import permissions, selectors, services
from commissioning.schedules.models import ReportingSchedule
from kernel.api import IF_MATCH, StandardPagination, VersionedUpdateMixin
from outcomes.models import Indicator, PeriodType
from stakeholders.models import Area, AreaLevel, Organisation

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ScheduleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="reporting-schedule-detail")
    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    commissioner = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    indicators = serializers.SlugRelatedField(
        slug_field="code", queryset=Indicator.objects.all(), many=True, help_text="Indicator codes."
    )
    boroughs = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Area.objects.filter(level=AreaLevel.BOROUGH),
        many=True,
        help_text="Borough GSS codes.",
    )
    period_type = serializers.ChoiceField(choices=PeriodType.choices)
    first_period = serializers.DateField(help_text="The first day of the first period expected, e.g. 2026-04-01.")
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReportingSchedule
        fields = [
            "id",
            "url",
            "name",
            "provider",
            "commissioner",
            "period_type",
            "indicators",
            "boroughs",
            "first_period",
            "deadline_days",
            "reminder_days",
            "is_active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class ScheduleFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(field_name="provider__slug", help_text="Provider organisation slug.")
    commissioner = django_filters.CharFilter(field_name="commissioner__slug")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = ReportingSchedule
        fields = ["provider", "commissioner", "is_active"]


class ReportingScheduleViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    VersionedUpdateMixin,
    viewsets.GenericViewSet,
):
    """What each provider is expected to submit: schedules you set, your own organisation's, and
    those covering boroughs you commission. PATCH needs `If-Match` with the ETag of your last GET."""

    serializer_class = ScheduleSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = ScheduleFilter
    ordering_fields = ["name", "first_period", "updated_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return (
            permissions.visible_schedules(self.request.user)
            .select_related("provider", "commissioner")
            .prefetch_related(
                Prefetch("indicators", queryset=Indicator.objects.order_by("code")),
                Prefetch("boroughs", queryset=Area.objects.order_by("code")),
            )
        )

    def get_object(self) -> ReportingSchedule:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        return permissions.get_schedule_for_user_or_404(
            self.request.user, int(pk), write=self.request.method not in SAFE_METHODS
        )

    def _may_commission_for(self, organisation: Organisation) -> bool:
        return permissions.schedule_commissioner_choices(self.request.user).filter(pk=organisation.pk).exists()

    def perform_create(self, serializer: ScheduleSerializer) -> None:
        if not permissions.can_create_schedule(self.request.user):
            raise PermissionDenied("Only commissioners set reporting schedules.")
        data = dict(serializer.validated_data)
        if not self._may_commission_for(data["commissioner"]):
            raise PermissionDenied("You may set schedules only for an organisation you commission for.")
        serializer.instance = services.schedule_create(actor=self.request.user, **data)

    @extend_schema(
        parameters=[IF_MATCH],
        responses={
            200: ScheduleSerializer,
            412: OpenApiResponse(description="The schedule changed since your ETag (problem details)."),
            428: OpenApiResponse(description="If-Match is missing (problem details)."),
        },
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def versioned_update(self, schedule: ReportingSchedule, data: dict[str, Any], expected_version: int) -> None:
        if "commissioner" in data and not self._may_commission_for(data["commissioner"]):
            raise PermissionDenied("You may move a schedule only to an organisation you commission for.")
        indicators = data.pop("indicators", None)
        boroughs = data.pop("boroughs", None)
        services.schedule_update(
            actor=self.request.user,
            schedule=schedule,
            expected_version=expected_version,
            indicators=indicators,
            boroughs=boroughs,
            **data,
        )

    def fresh(self, schedule: ReportingSchedule) -> ReportingSchedule:
        return permissions.get_schedule_for_user_or_404(self.request.user, schedule.pk)


# Completeness ------------------------------------------------------------------------------


class CompletenessQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(
        choices=["total", "provider", "borough", "indicator", "period", "cell"], default="provider"
    )
    schedule = serializers.IntegerField(required=False)
    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all(), required=False)
    borough = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.filter(level=AreaLevel.BOROUGH), required=False
    )
    indicator = serializers.SlugRelatedField(slug_field="code", queryset=Indicator.objects.all(), required=False)
    period_from = serializers.DateField(required=False)
    period_to = serializers.DateField(required=False)


TALLY = inline_serializer(
    "CompletenessTally",
    {
        "key": serializers.CharField(allow_null=True),
        "label": serializers.CharField(),
        "expected": serializers.IntegerField(),
        "received": serializers.IntegerField(),
        "on_time": serializers.IntegerField(),
        "late": serializers.IntegerField(),
        "missing": serializers.IntegerField(),
        "received_percent": serializers.FloatField(allow_null=True),
        "on_time_percent": serializers.FloatField(allow_null=True),
    },
)


@extend_schema_serializer(many=False)  # one document, though it answers the viewset's list action
class CompletenessAnswer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    group_by = serializers.CharField()
    total = TALLY
    results = serializers.ListField(child=serializers.DictField())

    class Meta:
        ref_name = "Completeness"


class CompletenessViewSet(viewsets.ViewSet):
    """Expected, received and on-time returns for schedules whose deadline has passed.

    Commissioners see the boroughs they commission, providers their own organisation (data
    submitters), staff everything. `group_by=cell` lists every expected cell with its state
    (on time, late, missing), paginated; the other groupings answer totals.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[CompletenessQuery], responses={200: CompletenessAnswer})
    def list(self, request: Request, format: str | None = None) -> Response:
        scope = permissions.completeness_scope(request.user)
        if scope is None:
            raise PermissionDenied("Completeness is for commissioners and providers' data submitters.")
        query = CompletenessQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        filters = selectors.Filters(
            schedule=q.get("schedule"),
            provider=q["provider"].pk if q.get("provider") else None,
            borough=q["borough"].pk if q.get("borough") else None,
            indicator=q["indicator"].pk if q.get("indicator") else None,
            period_from=q.get("period_from"),
            period_to=q.get("period_to"),
        )
        now = timezone.now()
        result = selectors.completeness(scope, filters, now=now)
        group_by = q["group_by"]
        document: dict[str, Any] = {"as_of": now, "group_by": group_by, "total": result.total.as_dict()}
        if group_by == "cell":
            cells = [
                {
                    "provider": c.provider,
                    "borough": c.borough_code,
                    "indicator": c.indicator_code,
                    "period": c.period,
                    "deadline": c.deadline,
                    "state": c.state.replace(" ", "_"),
                    "value_status": c.value_status,
                    "last_submitted_at": c.submitted_at,
                }
                for c in selectors.completeness_cells(scope, filters, now=now)
            ]
            paginator = StandardPagination()
            page = paginator.paginate_queryset(cells, request, view=self)
            response = paginator.get_paginated_response(page)
            response.data = {"as_of": now, "group_by": group_by, "total": document["total"], **response.data}
            return response
        document["results"] = [] if group_by == "total" else [t.as_dict() for t in result.by[group_by]]
        return Response(document)
