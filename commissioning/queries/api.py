"""REST API for value queries: the threads, and posting to them.

`GET /api/v1/value-queries/` lists the queries on values you may read (`show=waiting` by
default; `overdue`, `open`, `answered`, `resolved`, `all`), each with its messages. Post to a
thread with `POST /api/v1/value-queries/<id>/messages/` and a `kind`: the provider's data
submitters `reply` (text) or `correction` (numerator, denominator, note, text); the
commissioners of the value's borough `requery` (text) or `resolution` (text, approve).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as api_action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from commissioning.queries import permissions, selectors, services
from commissioning.queries.models import MessageKind, ValueQuery, ValueQueryMessage
from kernel.api import StandardPagination, problems


class QueryMessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)
    submission = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The amended submission of a correction (null otherwise)."
    )

    class Meta:
        model = ValueQueryMessage
        fields = ["id", "kind", "author", "text", "submission", "created_at"]
        read_only_fields = fields


class ValueQuerySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="value-query-detail")
    web_url = serializers.SerializerMethodField()
    value = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The outcome value's id.")
    indicator = serializers.CharField(source="value.indicator.code", read_only=True)
    borough = serializers.CharField(source="value.borough.code", read_only=True)
    period = serializers.CharField(source="value.period", read_only=True)
    provider = serializers.CharField(source="provider.slug", read_only=True)
    commissioner = serializers.CharField(source="commissioner.slug", read_only=True, allow_null=True)
    opened_by = serializers.CharField(source="opened_by.display_name", read_only=True)
    overdue = serializers.SerializerMethodField()
    messages = QueryMessageSerializer(many=True, read_only=True)

    class Meta:
        model = ValueQuery
        fields = [
            "url",
            "web_url",
            "id",
            "value",
            "indicator",
            "borough",
            "period",
            "provider",
            "commissioner",
            "opened_by",
            "opened_at",
            "due_on",
            "overdue",
            "status",
            "resolved_at",
            "messages",
        ]
        read_only_fields = fields

    def get_web_url(self, query: ValueQuery) -> str:
        return self.context["request"].build_absolute_uri(f"/data/queries/{query.pk}/")

    def get_overdue(self, query: ValueQuery) -> bool:
        return query.is_overdue()


class QueryPostSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[MessageKind.REPLY, MessageKind.CORRECTION, MessageKind.REQUERY, MessageKind.RESOLUTION]
    )
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    numerator = serializers.DecimalField(
        required=False, max_digits=17, decimal_places=4, min_value=0, help_text="For a correction."
    )
    denominator = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="For a correction.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    approve = serializers.BooleanField(required=False, default=False, help_text="For a resolution.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["kind"] == MessageKind.CORRECTION and data.get("numerator") is None:
            raise serializers.ValidationError({"numerator": "A correction needs the corrected numerator."})
        return data


SHOW = OpenApiParameter("show", str, enum=list(selectors.FILTERS), description="Which queries (default waiting).")


class ValueQueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Queries about submitted values, seen by the provider's people and the borough's commissioners."""

    serializer_class = ValueQuerySerializer
    permission_classes = [IsAuthenticated]
    pagination_class = StandardPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        show = self.request.query_params.get("show", "waiting") if self.action == "list" else "all"
        if show not in selectors.FILTERS:
            raise serializers.ValidationError({"show": f"Choose one of {', '.join(selectors.FILTERS)}."})
        return selectors.query_list(self.request.user, show=show).prefetch_related(
            Prefetch(
                "messages", queryset=ValueQueryMessage.objects.select_related("author").order_by("created_at", "pk")
            )
        )

    @extend_schema(parameters=[SHOW], responses={200: ValueQuerySerializer(many=True), **problems(400, 401)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=QueryPostSerializer,
        responses={201: ValueQuerySerializer, **problems(400, 401, 403, 404)},
        description=(
            "Post to the thread. `reply` and `correction`: the provider's data submitters; `requery` and "
            "`resolution`: the commissioners of the value's borough. A correction is an amended submission "
            "of that one value (its problems come back as a 400); a resolved query takes nothing more (400)."
        ),
    )
    @api_action(detail=True, methods=["post"], url_path="messages")
    def post_message(self, request: Request, pk: str | None = None) -> Response:
        query = self.get_object()
        if not permissions.can_act(request.user, query):
            raise PermissionDenied("You may not answer or resolve this query.")
        body = QueryPostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kind = data["kind"]
        answering = kind in (MessageKind.REPLY, MessageKind.CORRECTION)
        if not (permissions.can_answer if answering else permissions.can_resolve)(request.user, query):
            side = "the provider's data submitters" if answering else "the commissioners of the value's borough"
            raise PermissionDenied(f"Only {side} may post a {kind}.")
        services.query_post(actor=request.user, query=query, **data)
        fresh = self.get_queryset().get(pk=query.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)
