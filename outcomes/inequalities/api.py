"""GET /api/v1/indicators/<code>/inequalities/: an indicator's groups and gap measures for one area.

The same report as the page (outcomes.inequalities.report), under the same disclosure control:
nobody is shown a group's figure unsuppressed here, commissioners included.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.api import problems
from outcomes import permissions
from outcomes.inequalities import report as reports
from outcomes.inequalities.views import build_report, read_request
from outcomes.models import Metric

KNOWN_PARAMETERS = {"area", "breakdown", "period", "basis", "format"}


class InequalityFigureSerializer(serializers.Serializer):
    numerator = serializers.IntegerField(allow_null=True, help_text="Rounded to the nearest 5; null when hidden.")
    denominator = serializers.IntegerField(allow_null=True, help_text="Rounded to the nearest 5; null when hidden.")
    value = serializers.FloatField(allow_null=True, help_text="Null when suppressed (small numbers) or no figure.")
    lower95 = serializers.FloatField(allow_null=True)
    upper95 = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()


class InequalityGroupSerializer(InequalityFigureSerializer):
    group = serializers.CharField(help_text="Group code, e.g. black, q1, 18-24, not-known.")
    label = serializers.CharField()
    has_figure = serializers.BooleanField(help_text="False when no figure is stored for the group.")
    comparison = serializers.CharField(
        allow_null=True, help_text="With the area's all-people figure: better, worse, similar, ... or not_compared."
    )
    comparison_label = serializers.CharField(help_text='e.g. "Worse than all people"; empty when hidden.')


class InequalityGapSerializer(serializers.Serializer):
    period = serializers.CharField()
    shown = serializers.BooleanField(help_text="False when no gap may be given; `reason` says why.")
    reason = serializers.CharField(allow_null=True)
    groups_compared = serializers.IntegerField()
    best_group = serializers.CharField(allow_null=True)
    best_value = serializers.FloatField(allow_null=True)
    worst_group = serializers.CharField(allow_null=True)
    worst_value = serializers.FloatField(allow_null=True)
    gap = serializers.FloatField(allow_null=True, help_text="Worst minus best, from the published figures.")
    ratio = serializers.FloatField(allow_null=True, help_text="Worst divided by best.")
    sii = serializers.FloatField(allow_null=True, help_text="Slope index of inequality (deprivation only).")
    sii_lower95 = serializers.FloatField(allow_null=True)
    sii_upper95 = serializers.FloatField(allow_null=True)
    rii = serializers.FloatField(allow_null=True, help_text="Relative index of inequality (deprivation only).")
    rii_lower95 = serializers.FloatField(allow_null=True)
    rii_upper95 = serializers.FloatField(allow_null=True)


class InequalityBreakdownSerializer(serializers.Serializer):
    breakdown = serializers.CharField()
    label = serializers.CharField()
    all_people = InequalityFigureSerializer(allow_null=True)
    groups = InequalityGroupSerializer(many=True)
    gap = InequalityGapSerializer(allow_null=True)
    gap_by_period = InequalityGapSerializer(many=True)
    gap_trend = serializers.ChoiceField(
        choices=[(k, v) for k, v in reports.TREND_LABELS.items()],
        help_text="Earliest against latest period with a published gap (docs/statistics.md, Inequalities).",
    )
    gap_trend_label = serializers.CharField()
    gap_trend_reason = serializers.CharField()


class InequalityReportSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    indicator_name = serializers.CharField()
    measure = serializers.CharField()
    polarity = serializers.CharField()
    area = serializers.CharField()
    area_name = serializers.CharField()
    area_level = serializers.CharField()
    basis = serializers.CharField()
    provisional = serializers.BooleanField()
    period = serializers.CharField(allow_null=True, help_text="The period shown: the one asked for, else the latest.")
    periods = serializers.ListField(child=serializers.CharField(), help_text="Periods with figures by group.")
    computed_at = serializers.DateTimeField(allow_null=True)
    breakdowns = InequalityBreakdownSerializer(many=True)


@extend_schema(
    parameters=[
        OpenApiParameter("area", OpenApiTypes.STR, description="GSS code of London, a sub-region or a borough."),
        OpenApiParameter(
            "breakdown", OpenApiTypes.STR, description="ethnicity, age, sex or deprivation; all if blank."
        ),
        OpenApiParameter("period", OpenApiTypes.STR, description="2026-04, 2026-Q1 or 2026; the latest if blank."),
        OpenApiParameter("basis", OpenApiTypes.STR, enum=list(Metric.Basis.values)),
    ],
    responses={200: InequalityReportSerializer, **problems(400, 403, 404)},
)
class IndicatorInequalitiesView(APIView):
    """An indicator's figures by population group for one area, with the gap between the best and
    worst group and whether it is closing, as the public inequalities page shows them. Anonymous
    reads allowed (throttled); `basis=provisional` is for signed-in partners."""

    permission_classes = [AllowAny]

    def get(self, request: Request, code: str) -> Response:
        unknown = sorted(set(request.query_params) - KNOWN_PARAMETERS)
        if unknown:
            raise exceptions.ValidationError(
                {name: [f"Not a filter here; it takes {', '.join(sorted(KNOWN_PARAMETERS))}."] for name in unknown}
            )
        asked = read_request(code, request.query_params)
        if asked.indicator is None:
            raise exceptions.NotFound("No indicator has this code.")
        errors: dict[str, Any] = {name: [message] for name, message in asked.errors.items()}
        basis_asked = request.query_params.get("basis", "")
        if basis_asked and basis_asked not in Metric.Basis.values:
            errors["basis"] = ["approved or provisional."]
        if errors:
            raise exceptions.ValidationError(errors)
        if basis_asked == Metric.Basis.PROVISIONAL and not permissions.may_see_provisional(request.user):
            raise exceptions.PermissionDenied(
                "Provisional figures (including values not yet approved) are for signed-in partners."
            )
        basis = permissions.figures_basis(request.user, basis_asked)
        report = build_report(asked, basis)
        return Response(InequalityReportSerializer(reports.document(report)).data)
