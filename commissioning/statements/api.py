"""REST API for payment statements.

`GET /api/v1/payment-statements/` lists the statements of contracts you read in full
(`contract`, `period_start`, `status` filters), without their lines; a statement's detail has
its lines (figures under disclosure control where the performance page would use it), each
party's latest stance, every stance ever taken and the line threads, and an `ETag`.
`POST /api/v1/payment-statements/` (`contract`, `period_start`) drafts one (the commissioner
side). Stances, "agree all" and refreshes send `If-Match` with the statement's ETag (428 without,
412 when stale); messages do not.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as api_action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from commissioning.models import Contract
from commissioning.permissions import readable_q, sees_exact_performance
from commissioning.statements import permissions, selectors, services
from commissioning.statements.models import PaymentStatement, Stance, StatementStatus
from kernel.api import IF_MATCH, StandardPagination, problems, with_etag
from kernel.concurrency import expected_version_from_request


class LineStanceSerializer(serializers.Serializer):
    party = serializers.CharField(help_text="commissioner or provider")
    organisation = serializers.CharField(source="organisation.slug")
    stance = serializers.CharField(help_text="agree or dispute")
    reason = serializers.CharField()
    user = serializers.CharField(source="user.display_name")
    created_at = serializers.DateTimeField()
    reset_at = serializers.DateTimeField(
        allow_null=True, help_text="Set when a refresh of the figures reset this stance: it no longer counts."
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    party = serializers.CharField()
    organisation = serializers.CharField(source="organisation.slug")
    author = serializers.CharField(source="author.display_name")
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class LineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="line.id")
    indicator = serializers.CharField(source="line.indicator_code")
    indicator_name = serializers.CharField(source="line.indicator_name")
    measure = serializers.CharField(source="line.measure_type")
    unit = serializers.CharField(source="line.unit")
    polarity = serializers.CharField(source="line.polarity")
    periods = serializers.CharField(source="line.periods")
    value = serializers.FloatField(source="shown.value", allow_null=True)
    lower95 = serializers.FloatField(source="shown.lower", allow_null=True)
    upper95 = serializers.FloatField(source="shown.upper", allow_null=True)
    numerator = serializers.DecimalField(source="shown.numerator", max_digits=24, decimal_places=4, allow_null=True)
    denominator = serializers.IntegerField(source="shown.denominator", allow_null=True)
    population = serializers.IntegerField(source="shown.population", allow_null=True)
    controlled = serializers.BooleanField(source="shown.controlled")
    suppressed = serializers.BooleanField(source="shown.suppressed")
    boroughs_reporting = serializers.IntegerField(source="line.boroughs_reporting")
    boroughs_total = serializers.IntegerField(source="line.boroughs_total")
    target = serializers.DecimalField(source="line.target", max_digits=14, decimal_places=4)
    judgement = serializers.ChoiceField(source="line.judgement", choices=["met", "not_met", "unknown"])
    judgement_note = serializers.CharField(source="line.judgement_note")
    linked_pence = serializers.IntegerField(source="line.linked_pence")
    earned_pence = serializers.IntegerField(source="line.earned_pence")
    at_risk_pence = serializers.IntegerField(source="line.at_risk_pence")
    held_pence = serializers.IntegerField(source="line.held_pence")
    stances = serializers.SerializerMethodField(help_text="Each party's latest counting stance, by party key.")
    history = LineStanceSerializer(source="line.stances.all", many=True)
    messages = MessageSerializer(source="line.messages.all", many=True)
    changed_since = serializers.SerializerMethodField(
        help_text="Fields whose live figure now differs from the frozen one: {field: [frozen, live]}."
    )

    @extend_schema_field(serializers.DictField(child=LineStanceSerializer()))
    def get_stances(self, view: selectors.LineView) -> dict[str, Any]:
        return {key: LineStanceSerializer(s).data for key, s in view.latest.items()}

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField(allow_null=True)))
    )
    def get_changed_since(self, view: selectors.LineView) -> dict[str, list[str | None]]:
        if not view.line.statement.contract._lmh_exact:  # type: ignore[attr-defined]
            return {k: [None, None] for k in view.changed}  # that it changed, not the exact figures
        return {k: [None if a is None else str(a), None if b is None else str(b)] for k, (a, b) in view.changed.items()}


class StatementSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="payment-statement-detail")
    web_url = serializers.SerializerMethodField()
    contract = serializers.PrimaryKeyRelatedField(read_only=True)
    drafted_by = serializers.CharField(source="drafted_by.display_name", read_only=True, allow_null=True)

    class Meta:
        model = PaymentStatement
        fields = [
            "url", "web_url", "id", "contract", "period_start", "period_end", "status", "version",
            "drafted_by", "drafted_at", "frozen_at", "locked_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_web_url(self, statement: PaymentStatement) -> str:
        return self.context["request"].build_absolute_uri(statement.get_absolute_url())


class StatementDetailSerializer(StatementSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(LineSerializer(many=True))
    def get_lines(self, statement: PaymentStatement) -> list[dict[str, Any]]:
        return LineSerializer(self.context["line_views"], many=True).data


class DraftSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    period_start = serializers.DateField(help_text="The first day of a financial-year quarter, e.g. 2026-04-01.")


class StancePostSerializer(serializers.Serializer):
    stance = serializers.ChoiceField(choices=Stance.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class MessagePostSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


FILTERS = [
    OpenApiParameter("contract", int, description="A contract's id."),
    OpenApiParameter("period_start", str, description="A payment period's first day, e.g. 2026-04-01."),
    OpenApiParameter("status", str, enum=list(StatementStatus.values)),
]


class PaymentStatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Payment statements of contracts you manage or provide (404 for anyone else)."""

    permission_classes = [IsAuthenticated]
    pagination_class = StandardPagination
    serializer_class = StatementSerializer

    def get_queryset(self) -> QuerySet[PaymentStatement]:
        qs = PaymentStatement.objects.filter(
            contract__in=Contract.objects.filter(readable_q(self.request.user)).values("pk")
        ).select_related("drafted_by")
        if self.action != "list":
            return qs
        params = self.request.query_params
        errors = {}
        if params.get("contract"):
            if not params["contract"].isdigit():
                errors["contract"] = "A contract's id (a number)."
            else:
                qs = qs.filter(contract_id=int(params["contract"]))
        if params.get("period_start"):
            field = serializers.DateField()
            try:
                qs = qs.filter(period_start=field.to_internal_value(params["period_start"]))
            except serializers.ValidationError:
                errors["period_start"] = "A date, e.g. 2026-04-01."
        if params.get("status"):
            if params["status"] not in StatementStatus.values:
                errors["status"] = f"One of {', '.join(StatementStatus.values)}."
            else:
                qs = qs.filter(status=params["status"])
        if errors:
            raise serializers.ValidationError(errors)
        return qs.order_by("contract_id", "-period_start")

    def _detail(self, request: Request, pk: Any, *, code: int = status.HTTP_200_OK) -> Response:
        if not str(pk).isdigit():
            raise NotFound
        statement, _role = permissions.get_statement_for_user_or_404(request.user, int(pk))
        exact = sees_exact_performance(request.user, statement.contract)
        statement.contract._lmh_exact = exact  # type: ignore[attr-defined]
        views = selectors.line_views(statement, exact=exact)
        data = StatementDetailSerializer(statement, context={"request": request, "line_views": views}).data
        return with_etag(Response(data, status=code), statement)

    @extend_schema(parameters=FILTERS, responses={200: StatementSerializer(many=True), **problems(400, 401)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: StatementDetailSerializer, **problems(401, 404)})
    def retrieve(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        return self._detail(request, pk)

    @extend_schema(
        request=DraftSerializer,
        responses={201: StatementDetailSerializer, **problems(400, 401, 403, 404)},
        description="Draft the statement of a contract for a quarter (the commissioner side); the provider is told.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = DraftSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contract = (
            Contract.objects.filter(pk=body.validated_data["contract"])
            .prefetch_related("providers", "boroughs")
            .first()
        )
        role = permissions.statement_role(request.user, contract) if contract else None
        if role is None:
            raise serializers.ValidationError({"contract": "No contract with that id that you read."})
        if not role.drafts:
            raise PermissionDenied("Only the contract's commissioners draft its statements.")
        statement = services.statement_draft(
            actor=request.user,
            contract=contract,
            period_start=body.validated_data["period_start"],
        )
        return self._detail(request, statement.pk, code=status.HTTP_201_CREATED)

    def _acting(self, request: Request, pk: Any, line_id: Any = None):
        if not str(pk).isdigit():
            raise NotFound
        statement, role = permissions.get_statement_for_user_or_404(request.user, int(pk))
        if not role.acts:
            raise PermissionDenied("You read this statement but do not agree it for any party.")
        if line_id is None:
            return statement, role, None
        for line in statement.lines.all():
            if str(line.pk) == str(line_id):
                line.statement = statement
                return statement, role, line
        raise NotFound("No such line on this statement.")

    @extend_schema(
        request=StancePostSerializer,
        parameters=[IF_MATCH],
        responses={200: StatementDetailSerializer, **problems(400, 401, 403, 404), **problems(412, 428)},
        description="Agree or dispute one line for your party (a dispute needs a reason). Locks the statement "
        "when every party has agreed every line.",
    )
    @api_action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>\d+)/stance", url_name="stance")
    def stance(self, request: Request, pk: str | None = None, line_id: str | None = None, **kwargs: Any) -> Response:
        statement, _, line = self._acting(request, pk, line_id)
        expected = expected_version_from_request(request)
        body = StancePostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.line_stance_record(actor=request.user, line=line, expected_version=expected, **body.validated_data)
        return self._detail(request, statement.pk)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH],
        responses={200: StatementDetailSerializer, **problems(400, 401, 403, 404), **problems(412, 428)},
        description="Agree every line your party has not agreed yet.",
    )
    @api_action(detail=True, methods=["post"], url_path="agree-all", url_name="agree-all")
    def agree_all(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        statement, _, _ = self._acting(request, pk)
        expected = expected_version_from_request(request)
        services.statement_agree_all(actor=request.user, statement=statement, expected_version=expected)
        return self._detail(request, statement.pk)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH],
        responses={200: StatementDetailSerializer, **problems(400, 401, 403, 404), **problems(412, 428)},
        description="Freeze the figures again from today's approved data (the commissioner side). After any "
        "stance, every stance is reset.",
    )
    @api_action(detail=True, methods=["post"], url_path="refresh", url_name="refresh")
    def refresh(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        statement, role, _ = self._acting(request, pk)
        if not role.drafts:
            raise PermissionDenied("Only the contract's commissioners refresh its statements.")
        expected = expected_version_from_request(request)
        services.statement_refresh(actor=request.user, statement=statement, expected_version=expected)
        return self._detail(request, statement.pk)

    @extend_schema(
        request=MessagePostSerializer,
        responses={201: StatementDetailSerializer, **problems(400, 401, 403, 404)},
        description="Add a message to a line's thread; the other side is told.",
    )
    @api_action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>\d+)/messages", url_name="message")
    def message(self, request: Request, pk: str | None = None, line_id: str | None = None, **kwargs: Any) -> Response:
        statement, _, line = self._acting(request, pk, line_id)
        body = MessagePostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.line_message_post(actor=request.user, line=line, text=body.validated_data["text"])
        return self._detail(request, statement.pk, code=status.HTTP_201_CREATED)
