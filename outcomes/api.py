"""REST API for the indicator catalogue, populations, outcome values and submissions.

The same services and permission questions as the browser pages: writes go through
outcomes/services.py, every "may this user" through outcomes/permissions.py.

`POST /api/v1/submissions/` takes the body as it comes: `text/csv` is handed to the import
as a stream (never read whole into memory), `application/json` is a list of row objects
(or `{"rows": [...]}`). Bodies over OUTCOMES_MAX_UPLOAD_BYTES are refused with 413 before
a byte is read. Small submissions are imported in the request (201); larger ones than
OUTCOMES_ASYNC_ROWS rows are staged and handed to a Celery worker (202 with a URL to poll).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import IO, Any

import django_filters
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch, QuerySet
from django.utils.http import parse_header_parameters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from kernel import hostile
from kernel.api import problems
from kernel.cache import code_version
from outcomes import dashboards, ingest, permissions, services
from outcomes.aggregation import metrics_generation
from outcomes.breakdowns import NOT_KNOWN, Breakdown, group_label, groups_for, parse_age_band, validate_age_bands
from outcomes.models import (
    Door,
    Indicator,
    Measure,
    Metric,
    OutcomeValue,
    PeriodType,
    Population,
    PriorityArea,
    Submission,
    SubmissionIssue,
    ValueStatus,
)
from outcomes.periods import period_bounds
from outcomes.statistics import COMPARISON_LABELS, GROUP_COMPARISON_LABELS, Comparison
from stakeholders.models import Area, AreaLevel, Organisation, User

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
FIRST_ISSUES = 20  # issues shown inline in a submission's summary; the rest are paged at issues_url
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# For views without free-text search, so the schema lists no `search` parameter that does nothing.
FILTER_AND_ORDER = [DjangoFilterBackend, OrderingFilter]


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "payload-too-large"


# Indicators ------------------------------------------------------------------------------


class IndicatorSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="indicator-detail", lookup_field="code")

    class Meta:
        model = Indicator
        fields = [
            "url",
            "code",
            "name",
            "definition",
            "rationale",
            "measure",
            "numerator_definition",
            "denominator_definition",
            "polarity",
            "period_type",
            "financial_quarters",
            "unit",
            "data_source",
            "breakdowns",
            "age_bands",
            "is_active",
            "is_synthetic_demo",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["is_synthetic_demo", "created_at", "updated_at"]
        extra_kwargs = {
            "breakdowns": {"help_text": "Breakdowns its values may be split by: ethnicity, age, sex, deprivation."},
            "age_bands": {"help_text": 'Its age bands, youngest first ("0-17", "18-64", "65+"): needed with age.'},
        }

    def validate_code(self, value: str) -> str:
        # Uploads name indicators by code, so a published code never changes.
        if self.instance is not None and value != self.instance.code:
            raise serializers.ValidationError("The code of an existing indicator cannot change.")
        return value

    def validate_breakdowns(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("List each breakdown once.")
        return value

    def validate_age_bands(self, value: list[str]) -> list[str]:
        bands = [band.strip() for band in value]
        problem = validate_age_bands(bands)
        if problem:
            raise serializers.ValidationError(problem)
        return bands

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        breakdowns = attrs.get("breakdowns", self.instance.breakdowns if self.instance else [])
        bands = attrs.get("age_bands", self.instance.age_bands if self.instance else [])
        if Breakdown.AGE in breakdowns and not bands:
            raise serializers.ValidationError({"age_bands": ["Give the age bands of an indicator broken down by age."]})
        if bands and Breakdown.AGE not in breakdowns:
            raise serializers.ValidationError({"age_bands": ["Age bands need the age breakdown in breakdowns."]})
        return attrs


class IndicatorFilter(django_filters.FilterSet):
    measure = django_filters.ChoiceFilter(choices=Measure.choices)
    period_type = django_filters.ChoiceFilter(choices=PeriodType.choices)

    class Meta:
        model = Indicator
        fields = ["measure", "period_type", "is_active"]


class CataloguePermission(BasePermission):
    """Anyone reads the catalogue; catalogue managers change it."""

    def has_permission(self, request: Request, view: object) -> bool:
        return request.method in SAFE_METHODS or permissions.can_manage_catalogue(request.user)


@extend_schema_view(
    list=extend_schema(responses={200: IndicatorSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: IndicatorSerializer, **problems(404)}),
    create=extend_schema(responses={201: IndicatorSerializer, **problems(400, 401, 403)}),
    update=extend_schema(responses={200: IndicatorSerializer, **problems(400, 401, 403, 404)}),
    partial_update=extend_schema(responses={200: IndicatorSerializer, **problems(400, 401, 403, 404)}),
)
class IndicatorViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The indicator catalogue. Public to read; catalogue managers create and change entries."""

    serializer_class = IndicatorSerializer
    permission_classes = [CataloguePermission]
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    filterset_class = IndicatorFilter
    search_fields = ["name", "code", "definition"]
    ordering_fields = ["name", "code", "measure", "period_type", "updated_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Indicator]:
        return Indicator.objects.order_by("name")

    def perform_create(self, serializer: IndicatorSerializer) -> None:
        self._save(serializer, Indicator(**serializer.validated_data))

    def perform_update(self, serializer: IndicatorSerializer) -> None:
        indicator = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(indicator, name, value)
        self._save(serializer, indicator)

    def _save(self, serializer: IndicatorSerializer, indicator: Indicator) -> None:
        serializer.instance = services.indicator_save(actor=self.request.user, indicator=indicator)


# Priority areas ---------------------------------------------------------------------------


class PriorityAreaSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="priority-area-detail", lookup_field="slug")
    indicators = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True, help_text="Codes of the indicators that measure it."
    )

    class Meta:
        model = PriorityArea
        fields = ["url", "slug", "name", "description", "ordering", "is_active", "indicators"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(responses={200: PriorityAreaSerializer(many=True)}),
    retrieve=extend_schema(responses={200: PriorityAreaSerializer, **problems(404)}),
)
class PriorityAreaViewSet(viewsets.ReadOnlyModelViewSet):
    """Priority areas: what an action improves (crisis care, early help, children and young
    people...), and the indicators that measure each. The second dimension beside the nine key
    steps of London's plan of action (`/api/v1/key-steps/`), which say how partners work together.
    Staff keep the list; a retired area has `is_active` false. Plans, actions and evidence filter by
    it with `priority_area=<slug>`."""

    serializer_class = PriorityAreaSerializer
    permission_classes: list[type[BasePermission]] = []
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[PriorityArea]:
        return PriorityArea.objects.prefetch_related(
            Prefetch("indicators", queryset=Indicator.objects.order_by("code"))
        ).order_by("ordering", "name")


# Populations -----------------------------------------------------------------------------


class PopulationSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)

    group = serializers.CharField(
        source="population_group", read_only=True, help_text="The group within the breakdown; blank for all residents."
    )

    class Meta:
        model = Population
        fields = ["id", "area", "area_name", "year", "breakdown", "group", "population", "source", "updated_at"]
        read_only_fields = fields


class PopulationFilter(django_filters.FilterSet):
    area = django_filters.CharFilter(field_name="area__code", label="Area GSS code, e.g. E09000007")

    class Meta:
        model = Population
        fields = ["area", "year"]


@extend_schema_view(
    list=extend_schema(responses={200: PopulationSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: PopulationSerializer, **problems(404)}),
)
class PopulationViewSet(viewsets.ReadOnlyModelViewSet):
    """Residents per area and year: the denominators of rates per 100,000. Public."""

    serializer_class = PopulationSerializer
    permission_classes = [AllowAny]
    filter_backends = FILTER_AND_ORDER
    filterset_class = PopulationFilter
    ordering_fields = ["year", "population", "area__name"]
    ordering = ["area__name", "year"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Population]:
        return Population.objects.select_related("area").order_by("area__name", "year")


# Outcome values --------------------------------------------------------------------------


class PeriodFormField(forms.CharField):
    def clean(self, value: Any) -> tuple[dt.date, dt.date] | None:
        value = super().clean(value)
        if not value:
            return None
        bounds = period_bounds(value)
        if bounds is None:
            raise forms.ValidationError(
                "Write a period as 2026-04 (month), 2026-Q1 (quarter), 2025-26 Q1 (financial quarter), 2026 (year)"
                " or a date 2026-04-15.",
                code="invalid",
            )
        return bounds


class PeriodFilter(django_filters.CharFilter):
    """A period bound: `from` keeps values whose period starts in or after it, `to` in or before it."""

    field_class = PeriodFormField

    def __init__(self, *args: Any, bound: str, **kwargs: Any) -> None:
        self.bound = bound
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: tuple[dt.date, dt.date] | None) -> QuerySet:
        if not value:
            return qs
        start, end = value
        if self.bound == "from":
            return qs.filter(period_start__gte=start)
        return qs.filter(period_start__lt=end)


ALL_PEOPLE_CODE = "none"  # ?breakdown=none: the all-people values only


def group_filter_problem(breakdown: str, group: str) -> str:
    """Why a ?breakdown=&group= pair names no group (a group needs its breakdown; any age band
    may be an indicator's), or ""."""
    if not group:
        return ""
    if not breakdown or breakdown == ALL_PEOPLE_CODE:
        return "Give the breakdown the group belongs to (breakdown=ethnicity, say)."
    if breakdown == Breakdown.AGE:
        if group != NOT_KNOWN and parse_age_band(group) is None:
            return f"'{group[:40]}' is not an age band: write 18-24 or 65+, or not-known."
        return ""
    if group not in dict(groups_for(breakdown)):
        codes = ", ".join(code for code, _ in groups_for(breakdown))
        return f"'{group[:40]}' is not a {breakdown} group: use one of {codes}."
    return ""


class OutcomeValueFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        group = (data.get("group") or "").strip().lower()
        problem = group_filter_problem(data.get("breakdown") or "", group)
        if problem:
            self.add_error("group", problem)
        return data


class OutcomeValueFilter(django_filters.FilterSet):
    indicator = django_filters.CharFilter(field_name="indicator__code", label="Indicator code")
    borough = django_filters.CharFilter(method="filter_borough", label="Borough GSS code, e.g. E09000007")
    organisation = django_filters.CharFilter(field_name="organisation__slug", label="Provider organisation slug")
    period_from = PeriodFilter(bound="from", label="Periods starting in or after: 2026-04, 2026-Q1, 2026 or a date")
    period_to = PeriodFilter(bound="to", label="Periods starting in or before: 2026-04, 2026-Q1, 2026 or a date")
    status = django_filters.ChoiceFilter(choices=ValueStatus.choices)
    breakdown = django_filters.ChoiceFilter(
        choices=[(ALL_PEOPLE_CODE, "All people only"), *Breakdown.choices],
        method="filter_breakdown",
        label=f"Breakdown: {', '.join(Breakdown.values)}, or {ALL_PEOPLE_CODE} for the all-people values only",
    )
    group = django_filters.CharFilter(
        method="filter_group", label="Group of the breakdown (needs breakdown), e.g. black, q1, 65+"
    )

    class Meta:
        model = OutcomeValue
        fields = ["indicator", "borough", "organisation", "period_from", "period_to", "status", "breakdown", "group"]
        form = OutcomeValueFilterForm

    def filter_borough(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(borough__code=value.strip().upper())

    def filter_breakdown(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(breakdown="" if value == ALL_PEOPLE_CODE else value)

    def filter_group(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(population_group=value.strip().lower())


class OutcomeValueSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="outcome-value-detail")
    indicator = serializers.SlugRelatedField(slug_field="code", read_only=True)
    indicator_name = serializers.CharField(source="indicator.name", read_only=True)
    borough = serializers.SlugRelatedField(slug_field="code", read_only=True)
    borough_name = serializers.CharField(source="borough.name", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    period = serializers.CharField(
        read_only=True, help_text="2026-04, 2026-Q1, 2025-26 Q1 (financial quarter) or 2026, as reported."
    )
    numerator = serializers.DecimalField(max_digits=18, decimal_places=4, normalize_output=True, read_only=True)
    submission = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The submission that last changed it.")
    reviewed_by = serializers.CharField(source="reviewed_by.display_name", read_only=True, allow_null=True)
    reviewed_for = serializers.CharField(
        source="reviewed_for.name",
        read_only=True,
        allow_null=True,
        help_text="The commissioning organisation (ICB or council) the reviewer acted for.",
    )
    query_message = serializers.CharField(
        read_only=True, help_text="The reviewer's reason, for a queried or rejected value."
    )
    breakdown = serializers.CharField(read_only=True, help_text="Blank for all people (the headline).")
    group = serializers.CharField(
        source="population_group", read_only=True, help_text="The group within the breakdown; blank for all people."
    )
    group_label = serializers.CharField(read_only=True, help_text='"All people", or e.g. "Ethnic group: White".')

    class Meta:
        model = OutcomeValue
        fields = [
            "id",
            "url",
            "indicator",
            "indicator_name",
            "borough",
            "borough_name",
            "organisation",
            "organisation_name",
            "period",
            "period_start",
            "breakdown",
            "group",
            "group_label",
            "numerator",
            "denominator",
            "note",
            "status",
            "query_message",
            "submission",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "reviewed_for",
        ]
        read_only_fields = fields


class OutcomeValuePermission(IsAuthenticated):
    """Signed-in users read what visible_values gives them; only reviewers may review."""

    message = "You do not review values for any borough."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return getattr(view, "action", None) != "review" or permissions.can_review(request.user)


class ReviewSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10_000)
    status = serializers.ChoiceField(choices=[ValueStatus.APPROVED, ValueStatus.QUERIED, ValueStatus.REJECTED])
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="The reason, for the provider: needed for a query or a rejection.",
    )


class ReviewResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Values whose status changed; others' ids are ignored.")


@extend_schema_view(
    list=extend_schema(responses={200: OutcomeValueSerializer(many=True), **problems(400, 401)}),
    retrieve=extend_schema(responses={200: OutcomeValueSerializer, **problems(401, 404)}),
)
class OutcomeValueViewSet(viewsets.ReadOnlyModelViewSet):
    """Raw submitted values: a provider's own, and those in the boroughs a commissioner reviews."""

    serializer_class = OutcomeValueSerializer
    permission_classes = [OutcomeValuePermission]
    filter_backends = FILTER_AND_ORDER
    filterset_class = OutcomeValueFilter
    ordering_fields = ["period_start", "indicator__code", "borough__name", "organisation__name", "status"]
    ordering = ["-period_start", "indicator__code", "borough__name", "organisation__name"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[OutcomeValue]:
        return (
            permissions.visible_values(self.request.user)
            .select_related("indicator", "borough", "organisation", "reviewed_by", "reviewed_for")
            .order_by(*self.ordering)
        )

    @extend_schema(
        request=ReviewSerializer,
        responses={200: ReviewResultSerializer, **problems(400, 401, 403)},
        description=(
            "Approve, query or reject values in bulk. Only values in boroughs you commission, and only "
            "allowed transitions (submitted -> approved | queried | rejected; queried -> approved | rejected), "
            "change; other ids are ignored. A query or a rejection needs a message: the reason, which the "
            "provider's data submitters are sent and see as `query_message`. The value records `reviewed_by`, "
            "`reviewed_at` and `reviewed_for` (the commissioning organisation the reviewer acted for)."
        ),
    )
    @action(detail=False, methods=["post"])
    def review(self, request: Request) -> Response:
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = services.outcome_values_review(
            actor=request.user,
            value_ids=body.validated_data["ids"],
            status=body.validated_data["status"],
            message=body.validated_data["message"],
        )
        return Response({"changed": changed})


# Submissions -----------------------------------------------------------------------------


def _check_size(parser_context: dict[str, Any] | None) -> None:
    request = (parser_context or {}).get("request")
    if request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.OUTCOMES_MAX_UPLOAD_BYTES
    if length > limit:
        raise PayloadTooLarge(f"The body has {length:,} bytes; the most a submission may have is {limit:,}.")


class CSVBody:
    """The unread body of a text/csv request: the import reads it as a stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream


class CSVStreamParser(BaseParser):
    """text/csv: nothing is read here; the import streams the body itself."""

    media_type = CSV_MEDIA_TYPE

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> CSVBody:
        _check_size(parser_context)
        return CSVBody(stream)


class RowsJSONParser(BaseParser):
    """application/json rows. Not DRF's JSONParser, which would read the body through request.body
    and so be capped by DATA_UPLOAD_MAX_MEMORY_SIZE instead of OUTCOMES_MAX_UPLOAD_BYTES."""

    media_type = JSON_MEDIA_TYPE

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> Any:
        _check_size(parser_context)
        # Decimals, not floats, so 2.5 stays 2.5 and 12.0 can be read as the whole number 12;
        # too deep a nesting or a NUL character is a 400 (kernel.hostile).
        return hostile.loads(stream.read(), parse_float=Decimal)


def _cell(value: Any) -> Any:
    """A JSON cell as the import's text: 12 -> "12", 12.0 -> "12", 2.50 -> "2.50", null -> ""."""
    if isinstance(value, bool):
        return str(value).lower()  # not a number: the import reports it
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and value.adjusted() < 20:
            return str(int(value))
        return format(value, "f") if value.is_finite() and abs(value.adjusted()) < 20 else str(value)
    return value


def _json_rows(body: Any) -> list[dict[str, Any]]:
    rows = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise exceptions.ValidationError(
            {"rows": ["Send a JSON list of row objects, or an object with a 'rows' list."]}, code="invalid"
        )
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise exceptions.ValidationError({f"rows[{index}]": ["Each row must be an object."]}, code="invalid")
    return [{key: _cell(value) for key, value in row.items()} for row in rows]


def _submitting_organisation(user: User, slug: str) -> Organisation:
    if slug:
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            raise exceptions.ValidationError({"organisation": [f"There is no organisation '{slug}'."]})
        if not permissions.can_submit_for(user, organisation):
            raise exceptions.PermissionDenied(f"You do not submit data for '{slug}'.")
        return organisation
    organisations = list(permissions.submitting_organisations(user)[:2])
    if not organisations:
        raise exceptions.PermissionDenied("You do not submit data for any organisation.")
    if len(organisations) > 1:
        raise exceptions.ValidationError(
            {"organisation": ["You submit for several organisations: name one with ?organisation=<slug>."]}
        )
    return organisations[0]


def _filename(request: Request) -> str:
    _, params = parse_header_parameters(request.META.get("HTTP_CONTENT_DISPOSITION", ""))
    return params.get("filename", "")


def _live_progress(submission_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Progress the worker publishes in the cache, for submissions still being imported (one cache read)."""
    if not submission_ids:
        return {}
    found = cache.get_many([ingest.progress_key(pk) for pk in submission_ids])
    return {pk: found[ingest.progress_key(pk)] for pk in submission_ids if ingest.progress_key(pk) in found}


class SubmissionPermission(IsAuthenticated):
    """Signed-in users read visible_submissions; data submitters submit (for which organisation is checked
    once the query string has been read)."""

    message = "You do not submit data for any organisation."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return getattr(view, "action", None) != "create" or permissions.can_submit(request.user)


class SubmissionIssueSerializer(serializers.ModelSerializer):
    row_number = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Line of the CSV file (the header is 1; the first JSON row is 2); null for the whole file.",
    )

    class Meta:
        model = SubmissionIssue
        fields = ["row_number", "column", "code", "message", "severity"]
        read_only_fields = fields


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Rows written so far.")
    stage = serializers.CharField(help_text="reading, validating or writing.")


class SubmissionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="submission-detail")
    issues_url = serializers.HyperlinkedIdentityField(view_name="submission-issues", lookup_url_kwarg="submission_id")
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.display_name", read_only=True)
    processed_rows = serializers.SerializerMethodField()
    progress_percent = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "url",
            "issues_url",
            "organisation",
            "submitted_by",
            "door",
            "filename",
            "checksum",
            "size_bytes",
            "dry_run",
            "atomic",
            "amend_approved",
            "status",
            "message",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "progress",
            "created_count",
            "updated_count",
            "unchanged_count",
            "rejected_count",
            "warning_count",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _live(self, obj: Submission) -> dict[str, Any] | None:
        if obj.is_finished:
            return None
        live = self.context.get("live_progress")
        return live.get(obj.pk) if live is not None else ingest.read_progress(obj.pk)

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, obj: Submission) -> dict[str, Any] | None:
        live = self._live(obj)
        return {"done": int(live.get("done", 0)), "stage": str(live.get("stage", ""))} if live else None

    @extend_schema_field(OpenApiTypes.INT)
    def get_processed_rows(self, obj: Submission) -> int:
        live = self._live(obj)
        if live:
            return min(obj.total_rows, int(live.get("done", 0)))
        return obj.processed_rows

    @extend_schema_field(OpenApiTypes.INT)
    def get_progress_percent(self, obj: Submission) -> int:
        if obj.is_finished or not obj.total_rows:
            return obj.progress_percent
        return min(100, round(100 * self.get_processed_rows(obj) / obj.total_rows))


class SubmissionDetailSerializer(SubmissionSerializer):
    issues = serializers.SerializerMethodField(help_text=f"The first {FIRST_ISSUES} issues; all are at issues_url.")

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "issues"]
        read_only_fields = fields

    @extend_schema_field(SubmissionIssueSerializer(many=True))
    def get_issues(self, obj: Submission) -> list[dict[str, Any]]:
        issues = obj.issues.order_by(F("row_number").asc(nulls_first=True), "pk")[:FIRST_ISSUES]
        return SubmissionIssueSerializer(issues, many=True).data


class SubmissionQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="Validate and report; save nothing.")
    atomic = serializers.BooleanField(default=False, help_text="All rows or none: any error means nothing is saved.")
    amend = serializers.BooleanField(default=False, help_text="Allow changes to values already approved.")
    organisation = serializers.SlugField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Organisation to submit for (slug); needed only if you submit for several.",
    )


class SubmissionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Submission.Status.choices)
    door = django_filters.ChoiceFilter(choices=Door.choices)
    organisation = django_filters.CharFilter(field_name="organisation__slug")

    class Meta:
        model = Submission
        fields = ["status", "door", "organisation", "dry_run"]


class SubmissionRowSerializer(serializers.Serializer):
    """One row of a JSON submission (for the schema: rows are validated by the import, row by row)."""

    indicator_code = serializers.CharField()
    borough_code = serializers.CharField(help_text="GSS code, e.g. E09000007.")
    period = serializers.CharField(help_text="2026-04, 2026-Q1 or 2026, by the indicator's period type.")
    numerator = serializers.DecimalField(max_digits=18, decimal_places=4)
    denominator = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)
    organisation = serializers.CharField(required=False, help_text="Slug, when not the submission's organisation.")
    breakdown = serializers.ChoiceField(
        choices=Breakdown.choices, required=False, allow_blank=True, help_text="With group; omit both for all people."
    )
    group = serializers.CharField(
        required=False, allow_blank=True, help_text="A group of the breakdown, e.g. black, female, q1, 65+."
    )


@extend_schema_view(
    list=extend_schema(responses={200: SubmissionSerializer(many=True), **problems(400, 401)}),
    retrieve=extend_schema(responses={200: SubmissionDetailSerializer, **problems(401, 404)}),
)
class SubmissionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Submissions of outcomes data (imports) by my organisations, newest first, with their reports."""

    permission_classes = [SubmissionPermission]
    parser_classes = [CSVStreamParser, RowsJSONParser]
    filter_backends = FILTER_AND_ORDER
    filterset_class = SubmissionFilter
    ordering_fields = ["created_at", "status", "total_rows"]
    ordering = ["-created_at", "-pk"]
    lookup_value_regex = r"\d+"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return SubmissionSerializer if self.action == "list" else SubmissionDetailSerializer

    def get_queryset(self) -> QuerySet[Submission]:
        return (
            permissions.visible_submissions(self.request.user)
            .select_related("organisation", "submitted_by")
            .order_by(*self.ordering)
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        live = _live_progress([s.pk for s in page if not s.is_finished])
        context = {**self.get_serializer_context(), "live_progress": live}
        return self.get_paginated_response(SubmissionSerializer(page, many=True, context=context).data)

    @extend_schema(
        parameters=[SubmissionQuerySerializer],
        request={CSV_MEDIA_TYPE: OpenApiTypes.BINARY, JSON_MEDIA_TYPE: SubmissionRowSerializer(many=True)},
        responses={
            201: OpenApiResponse(
                SubmissionDetailSerializer,
                description="Imported in the request. `status` says whether anything was saved: completed "
                "(valid rows saved; rejected rows listed) or rejected (the file could not be read, or an "
                "all-or-nothing submission had errors). Location: the submission.",
            ),
            202: OpenApiResponse(
                SubmissionDetailSerializer,
                description="More than OUTCOMES_ASYNC_ROWS rows: staged and queued. Poll `url` (also the "
                "Location header) until `status` is completed, rejected or failed.",
            ),
            **problems(400, 401, 403, 413, 415),
        },
        description=(
            "Submit outcome values as `text/csv` (columns indicator_code, borough_code, period, numerator, "
            "denominator, note, organisation, breakdown, group; UTF-8 with or without BOM) or `application/json` "
            '(a list of row objects with the same keys, or `{"rows": [...]}`; numbers may be JSON numbers or '
            "strings, a missing denominator null). `breakdown` and `group` go together: blank or missing, the "
            "value is for all people. Each value is upserted on (organisation, indicator, borough, period, "
            "breakdown, group). "
            "Name a file with `Content-Disposition: attachment; filename=...`."
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = SubmissionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        organisation = _submitting_organisation(request.user, options["organisation"])
        media_type = request._request.content_type
        if media_type not in (CSV_MEDIA_TYPE, JSON_MEDIA_TYPE):
            raise exceptions.UnsupportedMediaType(media_type or "(none)")
        body = request.data  # the parsers refuse an oversized body before reading it
        common: dict[str, Any] = {
            "actor": request.user,
            "organisation": organisation,
            "door": Door.API,
            "dry_run": options["dry_run"],
            "atomic": options["atomic"],
            "amend_approved": options["amend"],
        }
        if media_type == CSV_MEDIA_TYPE:
            # No body at all parses as {}: the import then reports an empty file.
            stream = body.stream if isinstance(body, CSVBody) else _EmptyStream()
            submission = services.submission_create(**common, stream=stream, filename=_filename(request))
        else:
            submission = services.submission_create(**common, rows=_json_rows(body))
        submission = self.get_queryset().get(pk=submission.pk)
        data = SubmissionDetailSerializer(submission, context=self.get_serializer_context()).data
        # The serializer's url is a Hyperlink, a str subclass: WSGI servers accept only str itself.
        location = str(data["url"])
        if submission.is_finished:
            return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location, "Retry-After": "2"})


class _EmptyStream:
    def read(self, size: int = -1) -> bytes:
        return b""


class SubmissionIssueFilter(django_filters.FilterSet):
    severity = django_filters.ChoiceFilter(choices=SubmissionIssue.Severity.choices)
    code = django_filters.CharFilter()

    class Meta:
        model = SubmissionIssue
        fields = ["severity", "code"]


@extend_schema(
    parameters=[OpenApiParameter("submission_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    responses={200: SubmissionIssueSerializer(many=True), **problems(400, 401, 404)},
)
class SubmissionIssueList(generics.ListAPIView):
    """Every problem and warning of one submission, by row (file-level ones first)."""

    serializer_class = SubmissionIssueSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = FILTER_AND_ORDER
    filterset_class = SubmissionIssueFilter
    ordering_fields = ["row_number", "code", "severity"]
    ordering = [F("row_number").asc(nulls_first=True), "pk"]

    def get_queryset(self) -> QuerySet[SubmissionIssue]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no submission
            return SubmissionIssue.objects.none()
        submission = permissions.get_submission_for_user_or_404(self.request.user, self.kwargs["submission_id"])
        return submission.issues.order_by(*self.ordering)


# Metrics ---------------------------------------------------------------------------------


class MetricFilterForm(forms.Form):
    """Checks the population-group filters together: a group needs its breakdown, and must be one of
    that breakdown's groups (an age band of the indicator, when the indicator is given)."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        breakdown, group = data.get("breakdown") or "", (data.get("group") or "").strip()
        if group and not breakdown:
            if "breakdown" not in self.errors:
                self.add_error(
                    "group",
                    ValidationError(
                        "Give the breakdown this group belongs to, e.g. breakdown=ethnicity.", code="invalid"
                    ),
                )
        elif group and breakdown == Breakdown.AGE and not data.get("indicator"):
            if group != NOT_KNOWN and parse_age_band(group) is None:
                self.add_error(
                    "group", ValidationError('Not an age band: write "18-24", "65+" or "not-known".', code="invalid")
                )
        elif group:
            indicator = data.get("indicator")
            known = [code for code, _label in groups_for(breakdown, indicator.age_bands if indicator else ())]
            if group not in known:
                self.add_error(
                    "group", ValidationError(f"Not a group of {breakdown}; it has {', '.join(known)}.", code="invalid")
                )
        return data


class MetricFilter(django_filters.FilterSet):
    # A code that names no indicator is a 400, as an unreadable period or level is, not an empty page.
    indicator = django_filters.ModelChoiceFilter(
        queryset=Indicator.objects.all(),
        to_field_name="code",
        label="Indicator code",
        error_messages={"invalid_choice": "No indicator has this code."},
    )
    area = django_filters.CharFilter(method="filter_area", label="Area GSS code, e.g. E09000007 (Camden)")
    area_level = django_filters.ChoiceFilter(field_name="area__level", choices=AreaLevel.choices, label="Area level")
    basis = django_filters.ChoiceFilter(
        method="filter_basis",
        choices=Metric.Basis.choices,
        label=(
            "approved (published figures, the default) or provisional (including values not yet approved;"
            " signed-in partners only, unless the deployment publishes them)"
        ),
    )
    period_from = PeriodFilter(bound="from", label="Periods starting in or after: 2026-04, 2026-Q1, 2026 or a date")
    period_to = PeriodFilter(bound="to", label="Periods starting in or before: 2026-04, 2026-Q1, 2026 or a date")
    # Without a breakdown the list is the headline (all people); with one, that breakdown's groups.
    breakdown = django_filters.ChoiceFilter(
        method="filter_breakdown",
        choices=Breakdown.choices,
        label="Population-group breakdown: ethnicity, age, sex or deprivation (default: all people only)",
    )
    group = django_filters.CharFilter(
        method="filter_group",
        label="One group of the breakdown, e.g. black, q1, female, 18-24 (default: every group)",
    )

    class Meta:
        model = Metric
        form = MetricFilterForm
        fields = ["indicator", "area", "area_level", "basis", "period_from", "period_to", "breakdown", "group"]

    def filter_area(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        code = value.strip().upper()
        if not Area.objects.filter(code=code).exists():
            raise exceptions.ValidationError({"area": ["No borough, ICS sub-region or London has this code."]})
        return qs.filter(area__code=code)

    def filter_breakdown(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(breakdown=value)

    def filter_group(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(population_group=value.strip())

    def filter_basis(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.of_basis(value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("basis"):
            queryset = queryset.of_basis(Metric.Basis.APPROVED)
        return queryset


def public_metric_rows(metrics: list[Metric]) -> list[dict[str, Any]]:
    """Metric rows as the API (and the open-data package) serialise them: disclosure-controlled,
    never unsuppressed, with their population group."""
    rows = [row.as_dict() for row in dashboards.public_metrics(metrics)]
    for row, metric in zip(rows, metrics, strict=True):
        row.pop("not_for_publication")  # the API is public: no row is ever unsuppressed
        row["breakdown"], row["group"] = metric.breakdown, metric.population_group
        row["group_label"] = group_label(metric.breakdown, metric.population_group)
        if metric.population_group:
            row["comparison_label"] = GROUP_COMPARISON_LABELS[Comparison(row["comparison"])]
    return rows


class MetricSerializer(serializers.Serializer):
    """A metric under disclosure control (outcomes.dashboards): hidden figures are null."""

    indicator = serializers.CharField(help_text="Indicator code.")
    indicator_name = serializers.CharField()
    area = serializers.CharField(help_text="GSS code of the borough, ICS sub-region or London.")
    area_name = serializers.CharField()
    # Not a ChoiceField: the areas API already names this choice set (LevelEnum) in the schema.
    area_level = serializers.CharField(help_text="borough, sub_region or london.")
    period = serializers.CharField(help_text="2026-04, 2026-Q1 or 2026, by the indicator's period type.")
    period_start = serializers.DateField()
    basis = serializers.ChoiceField(choices=Metric.Basis.choices)
    provisional = serializers.BooleanField(help_text="Includes values not yet approved.")
    numerator = serializers.IntegerField(
        allow_null=True,
        help_text="Rounded to the nearest 5; null when below 5 (suppressed) or not published (means).",
    )
    denominator = serializers.IntegerField(
        allow_null=True, help_text="Rounded to the nearest 5; null when below 5 or not used by the measure."
    )
    value = serializers.FloatField(
        allow_null=True, help_text="Percentage, rate per 100,000, count or mean; null when suppressed."
    )
    lower95 = serializers.FloatField(allow_null=True, help_text="Null when suppressed, and always for counts.")
    upper95 = serializers.FloatField(allow_null=True)
    lower998 = serializers.FloatField(allow_null=True)
    upper998 = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField(help_text="True when the value is hidden by disclosure control.")
    comparison = serializers.ChoiceField(
        choices=[(c.value, COMPARISON_LABELS[c]) for c in Comparison],
        help_text=(
            "With London (a group's with its area's all-people figure), through the 95% and 99.8% limits; "
            "always not_compared for counts and London's all-people figure."
        ),
    )
    comparison_label = serializers.CharField()
    quintile = serializers.IntegerField(
        allow_null=True,
        help_text="Among boroughs: 1 best (or highest, with no judgement) to 5; null for counts, never ranked.",
    )
    trend = serializers.ChoiceField(
        choices=[("increasing", "Increasing"), ("decreasing", "Decreasing"), ("no_change", "No significant change")],
        allow_null=True,
        help_text="Significant trend over the five periods ending here (95%); null when not calculated.",
    )
    trend_label = serializers.CharField(help_text='e.g. "Increasing and getting better"; empty when not calculated.')
    providers = serializers.IntegerField(help_text="Provider organisations whose values are counted.")
    computed_at = serializers.DateTimeField()
    breakdown = serializers.CharField(help_text="ethnicity, age, sex or deprivation; empty for all people.")
    group = serializers.CharField(help_text="The group's code, e.g. black, 18-24, q1; empty for all people.")
    group_label = serializers.CharField(help_text='What people read, e.g. "All people", "Quintile 1 (most deprived)".')


@extend_schema_view(list=extend_schema(responses={200: MetricSerializer(many=True), **problems(400, 403)}))
class MetricViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Pan-London metrics for every borough, ICS sub-region and London, as the public dashboards show
    them: counts below 5 suppressed, other counts rounded to the nearest 5; counts are never compared
    with London. Anonymous reads allowed (throttled). Approved figures by default; `basis=provisional`
    is for signed-in partners (403 for anyone else unless the deployment publishes them)."""

    serializer_class = MetricSerializer
    permission_classes = [AllowAny]
    filter_backends = FILTER_AND_ORDER
    filterset_class = MetricFilter
    ordering_fields = ["period_start", "indicator__code", "area__name", "area__level"]
    ordering = ["indicator__code", "period_start", "area__level", "area__name", "breakdown", "population_group"]

    def get_queryset(self) -> QuerySet[Metric]:
        # Group rows only when a breakdown is asked for (MetricFilter narrows to it); else the headline.
        request = getattr(self, "request", None)  # none while the schema is generated
        rows = Metric.with_groups if request is not None and request.GET.get("breakdown") else Metric.objects
        return rows.select_related("indicator", "area").order_by(*self.ordering)

    def _refuse_unknown_parameters(self, request: Request) -> None:
        """A parameter this list does not understand (`suppressed=true`, a misspelt filter) is a 400:
        silently ignoring it would answer a different question from the one asked."""
        known = set(MetricFilter.base_filters) | {"ordering", "page", "page_size", "format"}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise exceptions.ValidationError(
                {name: [f"Not a filter of this list; it takes {', '.join(sorted(known))}."] for name in unknown},
                code="invalid",
            )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._refuse_unknown_parameters(request)
        asked = request.query_params.get("basis", "")
        if asked == Metric.Basis.PROVISIONAL and not permissions.may_see_provisional(request.user):
            raise exceptions.PermissionDenied(
                "Provisional figures (including values not yet approved) are for signed-in partners."
            )
        # Suppressed for every caller, and the basis was decided above: cached by URL (and so by
        # basis) until the metrics change.
        key = (
            f"api:metrics:{metrics_generation()}:{code_version()}:"
            + hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
        )
        data = cache.get(key)
        if data is None:
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            rows = public_metric_rows(page)
            data = dict(self.get_paginated_response(list(MetricSerializer(rows, many=True).data)).data)
            cache.set(key, data, 24 * 60 * 60)
        return Response(data)
