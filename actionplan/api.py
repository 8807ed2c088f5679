"""REST API for key steps, plans, actions, milestones, the evidence library and history.

The same services and permission questions as the browser pages. Reads are filtered to
what the caller may see (a partners-only plan is a 404 to a stranger); writes ask
``actionplan.permissions`` (403 for a reader). Plans and actions carry an ``ETag`` (their
version): ``PATCH``, ``DELETE`` and status changes need ``If-Match`` with it, and get 428
without it and 412 when someone else saved first.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as api_action
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from actionplan import permissions, selectors, services
from actionplan.models import (
    Action,
    ActionStatus,
    EvidenceItem,
    EvidenceType,
    KeyStep,
    Milestone,
    Plan,
    PlanScope,
    PlanStatus,
    PlanVisibility,
    ProgressNote,
)
from kernel.api import IF_MATCH, VersionedDestroyMixin, VersionedUpdateMixin, problems, with_etag
from kernel.concurrency import (
    expected_version_from_request,
)
from outcomes.models import Indicator, PriorityArea
from stakeholders.models import Area, AreaLevel, Organisation, User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FILTER_AND_ORDER = [DjangoFilterBackend, OrderingFilter]
# Key steps --------------------------------------------------------------------------------


class KeyStepSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="key-step-detail", lookup_field="number")
    description = serializers.CharField(read_only=True, help_text="What the step asks of London's partners.")

    class Meta:
        model = KeyStep
        fields = ["url", "number", "slug", "title", "description"]


@extend_schema_view(
    list=extend_schema(responses={200: KeyStepSerializer(many=True)}),
    retrieve=extend_schema(responses={200: KeyStepSerializer, **problems(404)}),
)
class KeyStepViewSet(viewsets.ReadOnlyModelViewSet):
    """The nine key steps of London's plan of action, in its order (fixed): developing collaborative
    commissioning; driving change through collective systems leadership; service users and
    clinicians at the core of provision; contracting systems that support integration; a public
    health approach to mental wellbeing; pan-London solutions; meaningful outcomes data; using
    London's academic infrastructure to disseminate best practice; a new narrative for mental
    health. Each action sits under one. What an action improves is its priority area
    (`/api/v1/priority-areas/`), where the indicators are."""

    serializer_class = KeyStepSerializer
    permission_classes: list[type[BasePermission]] = []
    lookup_field = "number"
    lookup_value_regex = r"[1-9]"
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[KeyStep]:
        return KeyStep.objects.order_by("number")


# Plans ------------------------------------------------------------------------------------


class PlanSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="plan-detail", lookup_field="slug")
    web_url = serializers.SerializerMethodField()
    areas = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        queryset=Area.objects.exclude(level=AreaLevel.LONDON),
        required=False,
        help_text="GSS codes: the one ICS sub-region, or the boroughs. Empty for pan-London.",
    )
    lead_organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    partners = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Organisation.objects.all(), required=False
    )
    progress = serializers.SerializerMethodField(help_text="Progress of all actions, weighted (0-100).")
    actions_needing_attention = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = [
            "url",
            "web_url",
            "slug",
            "title",
            "summary",
            "scope",
            "areas",
            "lead_organisation",
            "partners",
            "period_start",
            "period_end",
            "status",
            "visibility",
            "version",
            "progress",
            "actions_needing_attention",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "status", "version", "created_at", "updated_at"]

    def get_web_url(self, plan: Plan) -> str:
        return self.context["request"].build_absolute_uri(plan.get_absolute_url())

    def _summary(self, plan: Plan) -> selectors.PlanSummary:
        summaries = self.context.setdefault("summaries", {})
        if plan.pk not in summaries:
            summaries.update(selectors.plan_summaries([plan]))
        return summaries[plan.pk]

    def get_progress(self, plan: Plan) -> int | None:
        return self._summary(plan).progress

    def get_actions_needing_attention(self, plan: Plan) -> int:
        return self._summary(plan).needing_attention

    def validate_lead_organisation(self, value: Organisation) -> Organisation:
        user = self.context["request"].user
        current = self.instance.lead_organisation if self.instance else None
        if value != current and not permissions.lead_choices(user).filter(pk=value.pk).exists():
            raise serializers.ValidationError("You can only name an organisation you commission for as the lead.")
        return value


class PlanStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PlanStatus.choices)


class ChangeSerializer(serializers.Serializer):
    label = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField()
    what = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    verb = serializers.CharField()
    changes = ChangeSerializer(many=True)


class PlanFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(choices=PlanScope.choices)
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)
    visibility = django_filters.ChoiceFilter(choices=PlanVisibility.choices)
    borough = django_filters.CharFilter(
        method="filter_borough", help_text="GSS or short code: plans covering the borough."
    )
    lead_organisation = django_filters.CharFilter(field_name="lead_organisation__slug")
    key_step = django_filters.ModelChoiceFilter(
        queryset=KeyStep.objects.all(),
        to_field_name="number",
        method="filter_key_step",
        help_text="Key step number (1 to 9): plans with actions under it.",
    )
    priority_area = django_filters.ModelChoiceFilter(
        queryset=PriorityArea.objects.all(),
        to_field_name="slug",
        method="filter_priority_area",
        help_text="Priority area slug: plans with actions in it.",
    )

    class Meta:
        model = Plan
        fields = ["scope", "status", "visibility"]

    def filter_borough(self, queryset: QuerySet[Plan], name: str, value: str) -> QuerySet[Plan]:
        borough = Area.objects.boroughs().filter(Q(code=value) | Q(short_code=value.upper())).first()
        if borough is None:
            return queryset.none()
        covering = Plan.areas.through.objects.filter(area_id__in=[borough.pk, borough.parent_id]).values("plan_id")
        return queryset.filter(Q(scope=PlanScope.PAN_LONDON) | Q(pk__in=covering))

    def filter_key_step(self, queryset: QuerySet[Plan], name: str, value: KeyStep) -> QuerySet[Plan]:
        return queryset.filter(pk__in=Action.objects.filter(key_step=value).values("plan_id"))

    def filter_priority_area(self, queryset: QuerySet[Plan], name: str, value: PriorityArea) -> QuerySet[Plan]:
        return queryset.filter(pk__in=Action.objects.filter(priority_areas=value).values("plan_id"))


class PlanPermission(BasePermission):
    """Anyone reads what they may see (the queryset); writers need sign-in and the plan's grants."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if not request.user.is_authenticated:
            return False
        if getattr(view, "action", None) == "create":
            return permissions.can_create_plan(request.user)
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Plan) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "action", None) == "change_status":
            return permissions.can_manage_plan(request.user, obj)
        return permissions.can_change_plan(request.user, obj)


@extend_schema_view(
    list=extend_schema(responses={200: PlanSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: PlanSerializer, **problems(404)}),
    create=extend_schema(responses={201: PlanSerializer, **problems(400, 401, 403)}),
    partial_update=extend_schema(
        parameters=[IF_MATCH], responses={200: PlanSerializer, **problems(400, 401, 403, 404, 412, 428)}
    ),
)
class PlanViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    VersionedUpdateMixin,
    viewsets.GenericViewSet,
):
    """Action plans. Public plans (out of draft) are readable by anyone; the rest by their grantees."""

    serializer_class = PlanSerializer
    permission_classes = [PlanPermission]
    lookup_field = "slug"
    filter_backends = FILTER_AND_ORDER
    filterset_class = PlanFilter
    ordering_fields = ["title", "period_start", "updated_at"]
    ordering = ["-period_start", "title", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Plan]:
        return (
            permissions.plans_visible_to(self.request.user)
            .select_related("lead_organisation")
            .prefetch_related(
                Prefetch("areas", queryset=Area.objects.order_by("code")),
                Prefetch("partners", queryset=Organisation.objects.order_by("slug")),
            )
            .order_by("-period_start", "title", "id")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        plans = list(page if page is not None else queryset)
        context = self.get_serializer_context() | {"summaries": selectors.plan_summaries(plans)}
        data = PlanSerializer(plans, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def perform_create(self, serializer: PlanSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.plan_create(
            actor=self.request.user,
            areas=data.pop("areas", []),
            partners=data.pop("partners", []),
            **data,
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        plan = Plan.objects.get(slug=response.data["slug"])
        return with_etag(response, plan)

    def versioned_update(self, plan: Plan, data: dict[str, Any], expected_version: int) -> None:
        areas = data.pop("areas", None)
        partners = data.pop("partners", None)
        services.plan_update(
            actor=self.request.user,
            plan=plan,
            expected_version=expected_version,
            values=data,
            areas=areas,
            partners=partners,
        )

    def fresh(self, plan: Plan) -> Plan:
        return self.get_queryset().get(pk=plan.pk)

    @extend_schema(
        request=PlanStatusSerializer,
        parameters=[IF_MATCH],
        responses={200: PlanSerializer, **problems(400, 401, 403, 404, 412, 428)},
    )
    @api_action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, slug: str | None = None) -> Response:
        """Move the plan along draft -> consultation -> active -> closed (managers only)."""
        plan = self.get_object()
        expected = expected_version_from_request(request)
        body = PlanStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.plan_change_status(
            actor=request.user, plan=plan, expected_version=expected, status=body.validated_data["status"]
        )
        plan = self.fresh(plan)
        return with_etag(Response(self.get_serializer(plan).data), plan)

    @extend_schema(responses={200: HistoryEntrySerializer(many=True), **problems(404)})
    @api_action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request: Request, slug: str | None = None, format: str | None = None) -> Response:
        """Changes to the plan, its actions, milestones and targets, newest first (up to 200)."""
        plan = self.get_object()
        return Response(HistoryEntrySerializer(selectors.plan_history(plan), many=True).data)


# Actions and milestones -------------------------------------------------------------------


class IndicatorLinkSerializer(serializers.Serializer):
    indicator = serializers.SlugRelatedField(slug_field="code", queryset=Indicator.objects.all())
    target = serializers.DecimalField(max_digits=14, decimal_places=3, required=False, allow_null=True)
    target_note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MilestoneSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="milestone-detail")
    action = serializers.PrimaryKeyRelatedField(queryset=Action.objects.all())
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Milestone
        fields = ["url", "id", "action", "title", "due", "done_on", "overdue", "created_at"]
        read_only_fields = ["created_at"]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "action" in fields:
            fields["action"].queryset = Action.objects.filter(plan__in=permissions.plans_visible_to(request.user))
        return fields

    def get_overdue(self, milestone: Milestone) -> bool:
        return milestone.is_overdue()


class NestedMilestoneSerializer(MilestoneSerializer):
    class Meta(MilestoneSerializer.Meta):
        fields = ["url", "id", "title", "due", "done_on", "overdue"]


class ProgressNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = ProgressNote
        fields = ["created_at", "author", "status", "progress", "text"]
        read_only_fields = fields


class ActionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="action-detail")
    web_url = serializers.SerializerMethodField()
    plan = serializers.SlugRelatedField(slug_field="slug", queryset=Plan.objects.all())
    key_step = serializers.SlugRelatedField(
        slug_field="number",
        queryset=KeyStep.objects.all(),
        help_text="The key step of London's plan of action it sits under (1 to 9): how partners work together.",
    )
    priority_areas = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=PriorityArea.objects.all(),
        required=False,
        help_text="Slugs of the priority areas it improves (any number); a retired one only if it already has it.",
    )
    owner_organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    lead = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )
    lead_name = serializers.CharField(source="lead.display_name", read_only=True, default=None, allow_null=True)
    partners = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Organisation.objects.all(), required=False
    )
    dependencies = serializers.PrimaryKeyRelatedField(many=True, queryset=Action.objects.all(), required=False)
    indicators = IndicatorLinkSerializer(many=True, source="indicator_links", required=False)
    evidence = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=EvidenceItem.objects.all(), required=False
    )
    milestones = NestedMilestoneSerializer(many=True, read_only=True)
    overdue = serializers.SerializerMethodField()
    progress_note = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why the status or progress changed: kept, dated and signed, in progress_notes.",
    )
    progress_notes = ProgressNoteSerializer(many=True, read_only=True)

    class Meta:
        model = Action
        fields = [
            "url",
            "web_url",
            "id",
            "plan",
            "key_step",
            "priority_areas",
            "title",
            "description",
            "owner_organisation",
            "lead",
            "lead_name",
            "partners",
            "status",
            "progress",
            "start_date",
            "due_date",
            "weight",
            "overdue",
            "dependencies",
            "indicators",
            "evidence",
            "milestones",
            "progress_note",
            "progress_notes",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]

    def get_fields(self) -> dict[str, Any]:
        # Only plans and actions the caller may read can be named: a hidden one is "does not
        # exist", exactly like a missing one, so ids and slugs do not leak.
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            visible = permissions.plans_visible_to(request.user)
            fields["plan"].queryset = visible
            fields["dependencies"].child_relation.queryset = Action.objects.filter(plan__in=visible)
        return fields

    def to_representation(self, instance: Action) -> dict[str, Any]:
        data = super().to_representation(instance)
        # Lists of references in a stable order of their own (slugs, ids), whatever order the
        # shared selector prefetched them in for the page.
        for key in ("priority_areas", "partners", "dependencies", "evidence"):
            if isinstance(data.get(key), list):
                data[key] = sorted(data[key])
        return data

    def get_web_url(self, action: Action) -> str:
        return self.context["request"].build_absolute_uri(f"/plans/{action.plan.slug}/actions/{action.pk}/")

    def get_overdue(self, action: Action) -> bool:
        return action.is_overdue()

    def validate_plan(self, plan: Plan) -> Plan:
        if self.instance is not None and plan.pk != self.instance.plan_id:
            raise serializers.ValidationError("An action cannot move to another plan.")
        return plan


class ActionFilter(django_filters.FilterSet):
    plan = django_filters.CharFilter(
        method="filter_plan", help_text="Plan slug: its actions, and actions merged work shared into it."
    )
    key_step = django_filters.ModelChoiceFilter(
        queryset=KeyStep.objects.all(), to_field_name="number", help_text="Key step number (1 to 9)."
    )
    priority_area = django_filters.ModelChoiceFilter(
        queryset=PriorityArea.objects.all(),
        to_field_name="slug",
        method="filter_priority_area",
        help_text="Priority area slug: actions improving it.",
    )
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    owner_organisation = django_filters.CharFilter(field_name="owner_organisation__slug")
    scope = django_filters.ChoiceFilter(field_name="plan__scope", choices=PlanScope.choices)
    borough = django_filters.CharFilter(method="filter_borough", help_text="GSS or short code.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Past due and not done.")
    lead = django_filters.NumberFilter(field_name="lead_id")

    class Meta:
        model = Action
        fields = ["status"]

    def filter_plan(self, queryset: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        return queryset.filter(
            selectors.plan_action_filter(Plan.objects.filter(slug=value).values_list("pk", flat=True))
        )

    def filter_borough(self, queryset: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        plans = PlanFilter().filter_borough(Plan.objects.all(), name, value)
        return queryset.filter(plan__in=plans.values("pk"))

    def filter_priority_area(self, queryset: QuerySet[Action], name: str, value: PriorityArea) -> QuerySet[Action]:
        return selectors.filter_actions(queryset, priority_area=value)

    def filter_overdue(self, queryset: QuerySet[Action], name: str, value: bool | None) -> QuerySet[Action]:
        if value is None:
            return queryset
        overdue = Q(due_date__lt=timezone.localdate()) & ~Q(status=ActionStatus.DONE)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


# What an action's owners (its lead and its owner organisation's members) may PATCH without
# edit rights on the plan: permissions.can_update_action.
OWNER_FIELDS = frozenset({"status", "progress", "progress_note"})


class PlanChildPermission(BasePermission):
    """Actions and milestones: readable with their plan; written by those who may change the plan.

    An action's owners may also PATCH its status, progress and a progress note, and add, change
    and remove its milestones (permissions.can_update_action); deleting an action or changing
    anything else about it needs can_change_plan.
    """

    message = (
        "You may update this action's status, progress and milestones; other changes need edit rights on the plan."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or request.user.is_authenticated

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if isinstance(obj, Action):
            if permissions.can_change_plan(request.user, obj.plan):
                return True
            owner_patch = request.method == "PATCH" and set(request.data) <= OWNER_FIELDS
            return owner_patch and permissions.can_update_action(request.user, obj)
        return permissions.can_update_action(request.user, obj.action)


def _writable_plan(user: Any, plan: Plan) -> Plan:
    """For creating children: 404 when the plan is not visible, 403 when it may not be changed."""
    return permissions.get_plan_for_user_or_404(user, plan.slug, write=True)


def _links(data: dict[str, Any], targets: dict[int, Any] | None = None) -> dict[str, Any]:
    """Split the link fields off a validated body. A row without ``target`` keeps the current one."""
    targets = targets or {}
    links: dict[str, Any] = {}
    for name in ("partners", "dependencies", "evidence", "priority_areas"):
        if name in data:
            links[name] = data.pop(name)
    if "indicator_links" in data:
        links["indicators"] = {
            row["indicator"]: row["target"] if "target" in row else targets.get(row["indicator"].pk)
            for row in data.pop("indicator_links")
        }
    return links


@extend_schema_view(
    list=extend_schema(responses={200: ActionSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: ActionSerializer, **problems(404)}),
    create=extend_schema(responses={201: ActionSerializer, **problems(400, 401, 403, 404)}),
    partial_update=extend_schema(
        parameters=[IF_MATCH], responses={200: ActionSerializer, **problems(400, 401, 403, 404, 412, 428)}
    ),
    destroy=extend_schema(parameters=[IF_MATCH], responses={204: None, **problems(401, 403, 404, 412, 428)}),
)
class ActionViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    VersionedUpdateMixin,
    VersionedDestroyMixin,
    viewsets.GenericViewSet,
):
    """Actions in the plans the caller may read. Filter by plan, key step (`key_step=<number>`, one of the
    plan of action's nine), priority area (`priority_area=<slug>`), status, owner, borough, overdue."""

    serializer_class = ActionSerializer
    permission_classes = [PlanChildPermission]
    filter_backends = FILTER_AND_ORDER
    filterset_class = ActionFilter
    ordering_fields = ["due_date", "progress", "title", "updated_at"]
    ordering = ["plan_id", "key_step__number", "due_date", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Action]:
        # The same joins as the action's page (selectors.with_action_details).
        visible = Action.objects.filter(plan__in=permissions.plans_visible_to(self.request.user))
        qs = selectors.with_action_details(visible).order_by("plan_id", "key_step__number", "due_date", "id")
        # Lists leave out actions retired by a merge (issue 23); reading one by its id still works.
        return qs.filter(merged_into__isnull=True) if self.action == "list" else qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        plan = _writable_plan(request.user, data.pop("plan"))
        links = _links(data)
        created = services.action_create(
            actor=request.user,
            plan=plan,
            key_step=data.pop("key_step"),
            title=data.pop("title"),
            owner_organisation=data.pop("owner_organisation"),
            **links,
            **data,
        )
        created = self.get_queryset().get(pk=created.pk)
        return with_etag(Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED), created)

    def versioned_update(self, action: Action, data: dict[str, Any], expected_version: int) -> None:
        data.pop("plan", None)
        note = data.pop("progress_note", "")
        links = _links(data, {li.indicator_id: li.target for li in action.indicator_links.all()})
        if set(data) <= {"status", "progress"} and not links:
            # The owners' update (permissions.can_update_action): status, progress and why.
            services.action_set_progress(
                actor=self.request.user,
                action=action,
                expected_version=expected_version,
                status=data.get("status"),
                progress=data.get("progress"),
                note=note,
            )
        else:
            with transaction.atomic():
                updated = services.action_update(
                    actor=self.request.user, action=action, expected_version=expected_version, values=data, **links
                )
                services.progress_note_add(actor=self.request.user, action=updated, text=note)

    def fresh(self, action: Action) -> Action:
        return self.get_queryset().get(pk=action.pk)

    def versioned_destroy(self, action: Action, expected_version: int) -> None:
        services.action_delete(actor=self.request.user, action=action, expected_version=expected_version)

    @extend_schema(responses={200: HistoryEntrySerializer(many=True), **problems(404)})
    @api_action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        """Changes to the action, its milestones and indicator targets, newest first."""
        return Response(HistoryEntrySerializer(selectors.action_history(self.get_object()), many=True).data)


class MilestoneFilter(django_filters.FilterSet):
    action = django_filters.NumberFilter(field_name="action_id")
    plan = django_filters.CharFilter(field_name="action__plan__slug")
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Milestone
        fields = ["action"]

    def filter_overdue(self, queryset: QuerySet[Milestone], name: str, value: bool | None) -> QuerySet[Milestone]:
        if value is None:
            return queryset
        overdue = Q(due__lt=timezone.localdate(), done_on__isnull=True)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


@extend_schema_view(
    list=extend_schema(responses={200: MilestoneSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: MilestoneSerializer, **problems(404)}),
    create=extend_schema(responses={201: MilestoneSerializer, **problems(400, 401, 403, 404)}),
    partial_update=extend_schema(responses={200: MilestoneSerializer, **problems(400, 401, 403, 404)}),
    destroy=extend_schema(responses={204: None, **problems(401, 403, 404)}),
)
class MilestoneViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Milestones of the actions the caller may read."""

    serializer_class = MilestoneSerializer
    permission_classes = [PlanChildPermission]
    filter_backends = FILTER_AND_ORDER
    filterset_class = MilestoneFilter
    ordering_fields = ["due", "done_on"]
    ordering = ["due", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Milestone]:
        return (
            Milestone.objects.filter(action__plan__in=permissions.plans_visible_to(self.request.user))
            .select_related("action__plan")
            .order_by("due", "id")
        )

    def perform_create(self, serializer: MilestoneSerializer) -> None:
        data = dict(serializer.validated_data)
        action = data.pop("action")  # only actions of visible plans can be named (else 400, "does not exist")
        if not permissions.can_update_action(self.request.user, action):
            raise PermissionDenied(PlanChildPermission.message)
        serializer.instance = services.milestone_create(actor=self.request.user, action=action, **data)

    def perform_update(self, serializer: MilestoneSerializer) -> None:
        data = dict(serializer.validated_data)
        if "action" in data and data.pop("action").pk != serializer.instance.action_id:
            raise serializers.ValidationError({"action": ["A milestone cannot move to another action."]})
        services.milestone_update(actor=self.request.user, milestone=serializer.instance, values=data)

    def perform_destroy(self, instance: Milestone) -> None:
        services.milestone_delete(actor=self.request.user, milestone=instance)


# Evidence ---------------------------------------------------------------------------------


class NullableLinkField(serializers.URLField):
    """A URL that is null, not an empty string, when there is none (an empty string is no URI).

    Written as a URI: a link typed with non-ASCII letters ("cafés", an IRI, which the URL
    validator accepts as people type them) is percent-encoded, as the schema's `format: uri` says.
    """

    def to_representation(self, value: str) -> str | None:
        return iri_to_uri(value) if value else None

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data) if data not in (None, "") else ""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="evidence-detail", lookup_field="slug")
    organisation = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organisation.objects.all(), allow_null=True, required=False
    )
    key_steps = serializers.SlugRelatedField(
        slug_field="number",
        many=True,
        queryset=KeyStep.objects.all(),
        required=False,
        help_text="Numbers of the plan of action's key steps it informs.",
    )
    priority_areas = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=PriorityArea.objects.all(),
        required=False,
        help_text="Slugs of the priority areas it informs.",
    )
    link = NullableLinkField(
        source="url",
        max_length=500,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The evidence's web address; null when it has none (send null or an empty string to remove it).",
    )
    cited_by = serializers.SerializerMethodField(help_text="Ids of actions citing it, in plans you may read.")

    class Meta:
        model = EvidenceItem
        fields = [
            "url",
            "slug",
            "title",
            "summary",
            "type",
            "link",
            "organisation",
            "key_steps",
            "priority_areas",
            "cited_by",
            "published_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "published_at", "updated_at"]

    def get_cited_by(self, item: EvidenceItem) -> list[int]:
        # The viewset prefetches only the actions in plans the caller may read.
        return sorted(a.pk for a in item.actions.all())


class EvidenceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", help_text="Full-text search of title and summary.")
    type = django_filters.ChoiceFilter(choices=EvidenceType.choices)
    key_step = django_filters.ModelChoiceFilter(
        queryset=KeyStep.objects.all(), to_field_name="number", method="filter_key_step", help_text="Key step number."
    )
    priority_area = django_filters.ModelChoiceFilter(
        queryset=PriorityArea.objects.all(),
        to_field_name="slug",
        method="filter_priority_area",
        help_text="Priority area slug.",
    )

    class Meta:
        model = EvidenceItem
        fields = ["type"]

    def filter_key_step(self, queryset: QuerySet[EvidenceItem], name: str, value: KeyStep) -> QuerySet[EvidenceItem]:
        return queryset.filter(pk__in=selectors.evidence_list(key_step=value).values("pk"))

    def filter_priority_area(
        self, queryset: QuerySet[EvidenceItem], name: str, value: PriorityArea
    ) -> QuerySet[EvidenceItem]:
        return queryset.filter(pk__in=selectors.evidence_list(priority_area=value).values("pk"))

    def filter_q(self, queryset: QuerySet[EvidenceItem], name: str, value: str) -> QuerySet[EvidenceItem]:
        return selectors.evidence_list(q=value).filter(pk__in=queryset.values("pk")) if value else queryset


class EvidencePermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return permissions.can_publish_evidence(request.user)

    def has_object_permission(self, request: Request, view: Any, obj: EvidenceItem) -> bool:
        return request.method in SAFE_METHODS or permissions.can_edit_evidence(request.user, obj)


@extend_schema_view(
    list=extend_schema(responses={200: EvidenceSerializer(many=True), **problems(400)}),
    retrieve=extend_schema(responses={200: EvidenceSerializer, **problems(404)}),
    create=extend_schema(responses={201: EvidenceSerializer, **problems(400, 401, 403)}),
    partial_update=extend_schema(responses={200: EvidenceSerializer, **problems(400, 401, 403, 404)}),
)
class EvidenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The evidence and best-practice library: public to read, searchable (`q`)."""

    serializer_class = EvidenceSerializer
    permission_classes = [EvidencePermission]
    lookup_field = "slug"
    filter_backends = FILTER_AND_ORDER
    filterset_class = EvidenceFilter
    ordering_fields = ["published_at", "title"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[EvidenceItem]:
        return (
            EvidenceItem.objects.select_related("organisation")
            .prefetch_related(
                Prefetch("key_steps", queryset=KeyStep.objects.order_by("number")),
                Prefetch("priority_areas", queryset=PriorityArea.objects.only("id", "slug").order_by("slug")),
                Prefetch(
                    "actions",
                    queryset=Action.objects.filter(plan__in=permissions.plans_visible_to(self.request.user)).only(
                        "id", "plan_id"
                    ),
                ),
            )
            .order_by("-published_at", "id")
        )

    def perform_create(self, serializer: EvidenceSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.evidence_create(
            actor=self.request.user,
            key_steps=data.pop("key_steps", []),
            priority_areas=data.pop("priority_areas", []),
            **data,
        )

    def perform_update(self, serializer: EvidenceSerializer) -> None:
        data = dict(serializer.validated_data)
        key_steps, priority_areas = data.pop("key_steps", None), data.pop("priority_areas", None)
        services.evidence_update(
            actor=self.request.user,
            item=serializer.instance,
            values=data,
            key_steps=key_steps,
            priority_areas=priority_areas,
        )
