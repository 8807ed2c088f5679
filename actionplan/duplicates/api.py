"""REST API for duplicated work: list candidate pairs, dismiss a pair, merge it (or propose the merge), split a merge.

The same selectors, services and permission questions as the pages
(``actionplan.duplicates.permissions``). Every endpoint needs a signed-in caller (401 without);
a pair or merge in a plan the caller may not read is 404, a reader who may not write gets 403,
and a bad body 400, all as problem details.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from actionplan.duplicates import permissions, selectors, services
from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, Plan
from kernel.api import problems
from outcomes.models import PriorityArea
from stakeholders.models import Area

MAX_PAGE_SIZE = 100


class PairActionSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    plan_title = serializers.CharField(source="plan.title", read_only=True)
    owner_organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    key_step = serializers.IntegerField(source="key_step.number", read_only=True)

    class Meta:
        model = Action
        fields = ["id", "title", "plan", "plan_title", "owner_organisation", "key_step", "status", "progress"]
        read_only_fields = fields


class CandidatePairSerializer(serializers.Serializer):
    a = PairActionSerializer()
    b = PairActionSerializer()
    title_similarity = serializers.FloatField(
        help_text="pg_trgm similarity of the titles, 0 to 1 (pairs come most alike first)."
    )
    description_similarity = serializers.FloatField(help_text="pg_trgm similarity of the descriptions, 0 to 1.")
    shared_priority_areas = serializers.ListField(child=serializers.CharField(), source="shared_areas")
    shared_boroughs = serializers.ListField(child=serializers.CharField())
    london_wide = serializers.BooleanField(help_text="Both plans are pan-London.")
    shared_words = serializers.ListField(
        child=serializers.CharField(), help_text="Words full-text search found in both."
    )
    reason = serializers.CharField(help_text="Why the pair was matched, in words.")


class CandidatePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = CandidatePairSerializer(many=True)


class DismissSerializer(serializers.Serializer):
    a = serializers.IntegerField(help_text="One action's id.")
    b = serializers.IntegerField(help_text="The other action's id.")
    reason = serializers.CharField(max_length=1000, help_text="Why they are not the same work.")


class DismissedPairSerializer(serializers.ModelSerializer):
    dismissed_by = serializers.CharField(source="dismissed_by.display_name", read_only=True, default=None)

    class Meta:
        model = DismissedPair
        fields = ["id", "action_a", "action_b", "reason", "dismissed_by", "dismissed_at"]
        read_only_fields = fields


class MergeSerializer(serializers.Serializer):
    keep = serializers.IntegerField(help_text="The action that stays and becomes shared.")
    retire = serializers.IntegerField(help_text="The action merged into it (kept for the record, left out of lists).")
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class MergeRecordSerializer(serializers.ModelSerializer):
    merged_by = serializers.CharField(source="merged_by.display_name", read_only=True, default=None)
    split_by = serializers.CharField(source="split_by.display_name", read_only=True, default=None)
    live = serializers.BooleanField(source="is_live", read_only=True)

    class Meta:
        model = MergeRecord
        fields = ["id", "kept", "retired", "reason", "moved", "merged_by", "merged_at", "live", "split_by", "split_at"]
        read_only_fields = fields


class ProposalSerializer(serializers.Serializer):
    proposed = serializers.BooleanField()
    told = serializers.IntegerField(help_text="How many of the other plan's managers were told.")


class SplitSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


def _filters(request: Request) -> selectors.CandidateFilters:
    """Filters from the query string: unknown slugs or codes are a 400, not an empty list."""
    errors, values = {}, {}
    for name, model, field in (
        ("priority_area", PriorityArea, "slug"),
        ("borough", Area, "code"),
        ("plan", Plan, "slug"),
    ):
        raw = request.query_params.get(name)
        if not raw:
            continue
        qs = Area.objects.boroughs() if model is Area else model.objects.all()
        found = qs.filter(**{field: raw}).values_list("pk", flat=True).first()
        if found is None:
            errors[name] = [f"No {name.replace('_', ' ')} “{raw}”."]
        values[name] = found
    if errors:
        raise serializers.ValidationError(errors)
    return selectors.CandidateFilters(**values)


class DuplicateListView(APIView):
    """Candidate pairs of duplicated work among the plans you may read, most alike first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("priority_area", str, description="Priority area slug both actions share."),
            OpenApiParameter("borough", str, description="GSS code of a borough both plans cover."),
            OpenApiParameter("plan", str, description="Plan slug: pairs with an action in it."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description=f"At most {MAX_PAGE_SIZE}."),
        ],
        responses={200: CandidatePageSerializer, **problems(400, 401)},
    )
    def get(self, request: Request) -> Response:
        filters = _filters(request)
        try:
            number = max(int(request.query_params.get("page", 1)), 1)
            size = min(max(int(request.query_params.get("page_size", selectors.PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        except ValueError:
            raise serializers.ValidationError({"page": ["A page and page size are whole numbers."]}) from None
        result = selectors.candidate_page(request.user, filters, page=number, page_size=size)
        pages = Paginator(range(result.total), size).num_pages if result.total else 1
        body = {"count": result.total, "page": number, "pages": pages, "results": result.pairs}
        return Response(CandidatePageSerializer(body).data)


class DuplicateDismissView(APIView):
    """Dismiss a pair as different work (a manager of either plan); it is not listed again."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=DismissSerializer, responses={201: DismissedPairSerializer, **problems(400, 401, 403, 404)})
    def post(self, request: Request) -> Response:
        data = DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        a, b = permissions.get_pair_or_404(request.user, data.validated_data["a"], data.validated_data["b"])
        permissions.require(permissions.can_dismiss_pair(request.user, a, b))
        row = services.pair_dismiss(actor=request.user, a=a, b=b, reason=data.validated_data["reason"])
        return Response(DismissedPairSerializer(row).data, status=status.HTTP_201_CREATED)


class DuplicateMergeView(APIView):
    """Merge a pair into one shared action (a manager of both plans: 201), or propose it (a manager of one: 202)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=MergeSerializer,
        responses={201: MergeRecordSerializer, 202: ProposalSerializer, **problems(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v: dict[str, Any] = data.validated_data
        a, b = permissions.get_pair_or_404(request.user, v["keep"], v["retire"])
        kept, retired = (a, b) if a.pk == v["keep"] else (b, a)
        if permissions.can_merge_pair(request.user, a, b):
            record = services.pair_merge(actor=request.user, kept=kept, retired=retired, reason=v["reason"])
            return Response(MergeRecordSerializer(record).data, status=status.HTTP_201_CREATED)
        permissions.require(permissions.can_propose_merge(request.user, a, b))
        told = services.merge_propose(actor=request.user, kept=kept, retired=retired, reason=v["reason"])
        return Response({"proposed": True, "told": told}, status=status.HTTP_202_ACCEPTED)


class MergeSplitView(APIView):
    """Split a merge: the retired action comes back with what it brought (a manager of both plans)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=SplitSerializer, responses={200: MergeRecordSerializer, **problems(400, 401, 403, 404)})
    def post(self, request: Request, pk: int) -> Response:
        data = SplitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = permissions.get_merge_or_404(request.user, pk)
        permissions.require(permissions.can_split_merge(request.user, record))
        record = services.merge_split(actor=request.user, record=record, reason=data.validated_data["reason"])
        return Response(MergeRecordSerializer(record).data)
