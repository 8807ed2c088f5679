"""REST API for partnership decisions (proposals, stances, outcomes) and meetings.

The same services and permission questions as the pages (commissioning.decisions.permissions).
Anyone reads. A partnership's managers POST proposals and meetings and PATCH outcomes and
meetings; decisions and meetings are versioned, so a PATCH sends `If-Match` with the ETag of
the last GET (428 without it, 412 when stale). The people of member organisations POST their
organisation's stance to `/partnership-decisions/{id}/stances/` while the proposal is open.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as api_action
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from actionplan.models import Action
from commissioning.api import SAFE_METHODS, SignedInWrites, VisibleActionField, _visible_plan_ids
from commissioning.decisions import permissions, selectors, services
from commissioning.decisions.models import Decision, DecisionStatus, Meeting, Stance, StanceChoice
from commissioning.models import Partnership, PartnershipMember
from kernel.api import IF_MATCH, VersionedUpdateMixin, problems, with_etag
from kernel.markdown import render_markdown
from stakeholders.models import Organisation, User

# Decisions ---------------------------------------------------------------------------------


class StanceSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    recorded_by = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Stance
        fields = [
            "organisation",
            "organisation_name",
            "stance",
            "reason",
            "preferred_option",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class TalliesSerializer(serializers.Serializer):
    agree = serializers.IntegerField()
    abstain = serializers.IntegerField()
    disagree = serializers.IntegerField()
    block = serializers.IntegerField()


class DecisionSerializer(serializers.ModelSerializer):
    web_url = serializers.SerializerMethodField()
    partnership = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    proposed_by = serializers.CharField(
        source="proposed_by.display_name", read_only=True, allow_null=True, default=None
    )
    proposed_at = serializers.DateTimeField(source="created_at", read_only=True)
    text_html = serializers.SerializerMethodField()
    open = serializers.SerializerMethodField(help_text="Members may record or change stances now.")
    overdue = serializers.SerializerMethodField()
    tallies = serializers.SerializerMethodField()
    with_dissent = serializers.SerializerMethodField(help_text="A member disagrees or blocks.")
    actions = serializers.SerializerMethodField(help_text="Linked actions in plans you may read.")
    stances = StanceSerializer(many=True, read_only=True)
    not_responded = serializers.SerializerMethodField(help_text="Member organisations with no stance yet.")

    class Meta:
        model = Decision
        fields = [
            "id",
            "web_url",
            "partnership",
            "meeting",
            "title",
            "text",
            "text_html",
            "options",
            "deadline",
            "open",
            "status",
            "outcome",
            "owner",
            "due_date",
            "overdue",
            "actions",
            "proposed_by",
            "proposed_at",
            "decided_at",
            "tallies",
            "with_dissent",
            "stances",
            "not_responded",
        ]
        read_only_fields = fields

    def get_web_url(self, obj: Decision) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())

    def get_text_html(self, obj: Decision) -> str:
        return str(render_markdown(obj.text, top_heading=3))

    def get_open(self, obj: Decision) -> bool:
        return obj.is_open()

    def get_overdue(self, obj: Decision) -> bool:
        return obj.is_overdue()

    @extend_schema_field(TalliesSerializer)
    def get_tallies(self, obj: Decision) -> dict[str, int]:
        return {c: getattr(obj, f"n_{c}") for c in StanceChoice.values}

    def get_with_dissent(self, obj: Decision) -> bool:
        return bool(obj.n_disagree or obj.n_block)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_actions(self, obj: Decision) -> list[int]:
        visible = _visible_plan_ids(self.context)
        return [a.pk for a in obj.actions.all() if a.plan_id in visible]

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_not_responded(self, obj: Decision) -> list[str]:
        responded = {s.organisation_id for s in obj.stances.all()}
        return [m.organisation.slug for m in obj.partnership.members.all() if m.organisation_id not in responded]


class ProposalSerializer(serializers.Serializer):
    partnership = serializers.SlugRelatedField(slug_field="slug", queryset=Partnership.objects.all())
    title = serializers.CharField(max_length=200)
    text = serializers.CharField(help_text="Markdown.")
    options = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    deadline = serializers.DateField(required=False, allow_null=True, default=None)
    meeting = serializers.PrimaryKeyRelatedField(
        queryset=Meeting.objects.all(), required=False, allow_null=True, default=None
    )


class OutcomeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DecisionStatus.choices)
    outcome = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all(), required=False, allow_null=True, default=None
    )
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    actions = VisibleActionField(queryset=Action.objects.all(), many=True, required=False)


class StanceWriteSerializer(serializers.Serializer):
    organisation = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organisation.objects.all(),
        required=False,
        help_text="The member organisation you speak for; needed only if you belong to more than one.",
    )
    stance = serializers.ChoiceField(choices=StanceChoice.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    preferred_option = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class DecisionFilter(django_filters.FilterSet):
    partnership = django_filters.CharFilter(field_name="partnership__slug")
    status = django_filters.ChoiceFilter(
        choices=[*DecisionStatus.choices, ("overdue", "Overdue"), ("dissent", "With dissent")], method="filter_status"
    )
    owner = django_filters.CharFilter(field_name="owner__slug")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_q", label="Words in the title, text or outcome")

    class Meta:
        model = Decision
        fields = ["partnership", "meeting", "status", "owner", "due_before", "q"]

    def filter_status(self, qs: Any, name: str, value: str) -> Any:
        if value == "overdue":
            return qs.filter(status=DecisionStatus.AGREED, due_date__lt=timezone.localdate())
        if value == "dissent":
            return qs.filter(Q(n_disagree__gt=0) | Q(n_block__gt=0))
        return qs.filter(status=value)

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        for word in value.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(text__icontains=word) | Q(outcome__icontains=word))
        return qs


class DecisionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, VersionedUpdateMixin, viewsets.GenericViewSet):
    """Partnership decisions logs: proposals, every member's stance and reason, and outcomes. Anyone reads.

    POST a proposal (the partnership's managers); PATCH the outcome with `If-Match` (managers);
    POST `stances/` to record your member organisation's view while the proposal is open.
    """

    serializer_class = DecisionSerializer
    permission_classes = [SignedInWrites]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = DecisionFilter
    ordering_fields = ["created_at", "due_date", "deadline"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return (
            selectors.with_tallies(Decision.objects.all())
            .select_related("owner", "partnership", "proposed_by")
            .prefetch_related(
                Prefetch(
                    "stances",
                    queryset=Stance.objects.select_related("organisation", "user").order_by("organisation__name"),
                ),
                Prefetch(
                    "partnership__members",
                    queryset=PartnershipMember.objects.select_related("organisation").order_by("organisation__name"),
                ),
                "actions",
            )
        )

    def get_object(self) -> Decision:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        decision = self.get_queryset().filter(pk=int(pk)).first()
        if decision is None:
            raise Http404
        return decision

    @extend_schema(request=ProposalSerializer, responses={201: DecisionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Permission before validation: someone who may not propose in the named partnership gets
        # 403 whatever else the body holds, and learns nothing from a 400.
        slug = request.data.get("partnership") if hasattr(request.data, "get") else None
        partnership = Partnership.objects.filter(slug=str(slug)).prefetch_related("members").first() if slug else None
        if partnership is not None and not permissions.can_manage_partnership(request.user, partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may propose decisions.")
        body = ProposalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        partnership = data.pop("partnership")
        if not permissions.can_manage_partnership(request.user, partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may propose decisions.")
        decision = services.decision_propose(actor=request.user, partnership=partnership, **data)
        decision = self.get_queryset().get(pk=decision.pk)
        return with_etag(Response(self.get_serializer(decision).data, status=status.HTTP_201_CREATED), decision)

    @extend_schema(
        request=OutcomeSerializer, parameters=[IF_MATCH], responses={200: DecisionSerializer, **problems(412, 428)}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record or correct the outcome: status, outcome statement, owner, due date, linked actions."""
        return super().partial_update(request, *args, **kwargs)

    def check_write(self, decision: Decision) -> None:
        if not permissions.can_manage_partnership(self.request.user, decision.partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may record the outcome.")

    def write_serializer(self, decision: Decision, data: Any) -> OutcomeSerializer:
        return OutcomeSerializer(data=data, context=self.get_serializer_context())

    def versioned_update(self, decision: Decision, data: dict[str, Any], expected_version: int) -> None:
        if "actions" in data:
            # Linked actions in plans this manager cannot read stay linked.
            visible = _visible_plan_ids(self.get_serializer_context())
            data["actions"] = [*data["actions"], *(a for a in decision.actions.all() if a.plan_id not in visible)]
        services.decision_record_outcome(
            actor=self.request.user, decision=decision, expected_version=expected_version, **data
        )

    @extend_schema(request=StanceWriteSerializer, responses={201: DecisionSerializer})
    @api_action(detail=True, methods=["post"], url_path="stances")
    def stances(self, request: Request, pk: str | None = None) -> Response:
        """Record (or change) your member organisation's stance while the proposal is open.

        A reason is required to disagree or block; a closed proposal (outcome recorded, deadline
        passed) answers 400. Only people of member organisations may post (403).
        """
        decision = self.get_object()
        own = permissions.stance_organisation_ids(request.user, decision.partnership)
        if not own:
            raise PermissionDenied("Only people of the partnership's member organisations record stances.")
        body = StanceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organisation = data.pop("organisation", None)
        if organisation is None:
            if len(own) > 1:
                raise serializers.ValidationError(
                    {"organisation": "You belong to more than one member: name the one you speak for."}
                )
            organisation = Organisation.objects.get(pk=own[0])
        services.stance_record(actor=request.user, decision=decision, organisation=organisation, **data)
        decision = self.get_object()
        return with_etag(Response(self.get_serializer(decision).data, status=status.HTTP_201_CREATED), decision)


# Meetings ----------------------------------------------------------------------------------


class MeetingSerializer(serializers.ModelSerializer):
    web_url = serializers.SerializerMethodField()
    partnership = serializers.SlugRelatedField(slug_field="slug", queryset=Partnership.objects.all())
    attendees = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False, help_text="People of member organisations (user ids)."
    )
    attendee_names = serializers.SerializerMethodField()
    agenda_html = serializers.SerializerMethodField()
    minutes_html = serializers.SerializerMethodField()
    decisions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "web_url",
            "partnership",
            "date",
            "title",
            "agenda",
            "agenda_html",
            "attendees",
            "attendee_names",
            "also_attending",
            "minutes",
            "minutes_html",
            "decisions",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_web_url(self, obj: Meeting) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_attendee_names(self, obj: Meeting) -> list[str]:
        return sorted(u.display_name for u in obj.attendees.all()) + obj.also_attending_list

    def get_agenda_html(self, obj: Meeting) -> str:
        return str(render_markdown(obj.agenda, top_heading=3))

    def get_minutes_html(self, obj: Meeting) -> str:
        return str(render_markdown(obj.minutes, top_heading=3))


class MeetingFilter(django_filters.FilterSet):
    partnership = django_filters.CharFilter(field_name="partnership__slug")

    class Meta:
        model = Meeting
        fields = ["partnership"]


class MeetingViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, VersionedUpdateMixin, viewsets.GenericViewSet):
    """Partnership meetings: agenda, attendees, minutes and their decisions. Anyone reads; managers write.

    PATCH needs `If-Match` with the ETag of your last GET.
    """

    serializer_class = MeetingSerializer
    permission_classes = [SignedInWrites]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = MeetingFilter
    ordering_fields = ["date"]
    ordering = ["-date", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Meeting.objects.select_related("partnership").prefetch_related("attendees", "decisions")

    def get_object(self) -> Meeting:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        meeting = self.get_queryset().filter(pk=int(pk)).first()
        if meeting is None:
            raise Http404
        return meeting

    def check_write(self, meeting: Meeting) -> None:
        if not permissions.can_manage_partnership(self.request.user, meeting.partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may edit meetings.")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        slug = request.data.get("partnership") if hasattr(request.data, "get") else None
        partnership = Partnership.objects.filter(slug=str(slug)).first() if slug else None
        if partnership is not None and not permissions.can_manage_partnership(request.user, partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may record meetings.")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: MeetingSerializer) -> None:
        data = dict(serializer.validated_data)
        partnership = data.pop("partnership")
        if not permissions.can_manage_partnership(self.request.user, partnership):
            raise PermissionDenied("Only the partnership's members' commissioners may record meetings.")
        serializer.instance = services.meeting_create(actor=self.request.user, partnership=partnership, **data)

    @extend_schema(parameters=[IF_MATCH], responses={200: MeetingSerializer, **problems(412, 428)})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def versioned_update(self, meeting: Meeting, data: dict[str, Any], expected_version: int) -> None:
        if "partnership" in data and data.pop("partnership") != meeting.partnership:
            raise serializers.ValidationError({"partnership": "A meeting cannot move to another partnership."})
        services.meeting_update(actor=self.request.user, meeting=meeting, expected_version=expected_version, **data)


__all__ = ["SAFE_METHODS", "DecisionViewSet", "MeetingViewSet"]
