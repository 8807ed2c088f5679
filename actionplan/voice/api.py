"""REST API for comments, official responses, flags, notifications and follows.

The same services and permission questions as the browser pages: a plan or comment the
caller may not see is a 404, a write the caller may not make is a 403, and too many
comments in an hour is a 429 with the same message the form shows.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse

from actionplan import permissions as plan_permissions
from actionplan.models import Action, Comment, Disposition, Follow, Notification, NotificationKind, Plan, Response
from actionplan.voice import permissions, selectors, services

FILTER_AND_ORDER = [DjangoFilterBackend, OrderingFilter]


class TooManyComments(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many comments in the last hour."
    default_code = "rate-limited"


def _object_body(request: Request) -> dict:
    """The request body, which must be one JSON object (a list or a scalar is a 400, not a 500)."""
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send one JSON object."]})
    return request.data


def _plan_or_404(user: Any, slug: str) -> Plan:
    return plan_permissions.get_plan_for_user_or_404(user, slug)


# Comments ----------------------------------------------------------------------------------


class ResponseSummarySerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)
    action_changed = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Response
        fields = ["id", "disposition", "text", "text_html", "action_changed", "author", "created_at", "updated_at"]
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="slug", queryset=Plan.objects.all())
    action = serializers.PrimaryKeyRelatedField(queryset=Action.objects.all(), required=False, allow_null=True)
    parent = serializers.PrimaryKeyRelatedField(queryset=Comment.objects.all(), required=False, allow_null=True)
    author = serializers.CharField(source="author.display_name", read_only=True)
    lived_experience = serializers.BooleanField(source="show_badge", required=False, default=False)
    deleted = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id",
            "plan",
            "action",
            "parent",
            "author",
            "lived_experience",
            "body",
            "body_html",
            "status",
            "created_at",
            "edited_at",
            "deleted",
            "response",
        ]
        read_only_fields = ["body_html", "status", "created_at", "edited_at"]

    def get_deleted(self, obj: Comment) -> bool:
        return obj.is_deleted

    @extend_schema_field(ResponseSummarySerializer(allow_null=True))
    def get_response(self, obj: Comment) -> dict | None:
        try:
            response = obj.response
        except Response.DoesNotExist:
            return None
        return ResponseSummarySerializer(response).data if not obj.is_deleted else None


class CommentEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class CommentFilter(django_filters.FilterSet):
    plan = django_filters.CharFilter(field_name="plan__slug")
    action = django_filters.NumberFilter(field_name="action_id")

    class Meta:
        model = Comment
        fields = ["plan", "action", "status"]


@extend_schema_view(
    partial_update=extend_schema(request=CommentEditSerializer, responses={200: CommentSerializer}),
)
class CommentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Comments on plans and actions you may see. Filter with ``?plan=<slug>`` and ``?action=<id>``.

    Create needs comment permission on the plan; authors edit the body (PATCH) within the
    edit window and delete their own (the comment stays, marked deleted, without its text).
    """

    serializer_class = CommentSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    filter_backends = FILTER_AND_ORDER
    filterset_class = CommentFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Comment]:
        return selectors.comments_visible_to(self.request.user)

    def get_object(self) -> Comment:
        comment = super().get_object()
        if not permissions.can_see_comment(self.request.user, comment):
            raise Http404
        return comment

    def create(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        data = _object_body(request)
        plan = _plan_or_404(request.user, str(data.get("plan", "")))
        serializer = self.get_serializer(data=data)
        # The action and the parent are looked up on this plan, among what the person may see:
        # one of another plan, a hidden one and a missing one all get the same "does not exist".
        serializer.fields["action"].queryset = Action.objects.filter(plan=plan)
        serializer.fields["parent"].queryset = selectors.comments_visible_to(request.user).filter(plan=plan)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        action_obj, parent = values.get("action"), values.get("parent")
        try:
            comment = services.comment_create(
                actor=request.user,
                plan=plan,
                action=action_obj,
                parent=parent,
                body=values["body"],
                show_badge=values.get("show_badge", False),
            )
        except services.RateLimited as exc:
            raise TooManyComments(detail=" ".join(exc.messages)) from None
        return APIResponse(self.get_serializer(comment).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        comment = self.get_object()
        serializer = CommentEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.comment_edit(actor=request.user, comment=comment, body=serializer.validated_data["body"])
        return APIResponse(self.get_serializer(comment).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        comment = self.get_object()
        services.comment_delete(actor=request.user, comment=comment)
        return APIResponse(status=status.HTTP_204_NO_CONTENT)


# Official responses ------------------------------------------------------------------------


class ResponseSerializer(serializers.ModelSerializer):
    comment = serializers.PrimaryKeyRelatedField(queryset=Comment.objects.all())
    action_changed = serializers.PrimaryKeyRelatedField(queryset=Action.objects.all(), required=False, allow_null=True)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    author = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = Response
        fields = ["id", "comment", "disposition", "text", "text_html", "action_changed", "author", "created_at"]
        read_only_fields = ["text_html", "created_at"]


class ResponseFilter(django_filters.FilterSet):
    plan = django_filters.CharFilter(field_name="comment__plan__slug")

    class Meta:
        model = Response
        fields = ["plan", "disposition"]


class ResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Official responses ("you said, we did"). POST gives or revises the response to a comment."""

    serializer_class = ResponseSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    filter_backends = FILTER_AND_ORDER
    filterset_class = ResponseFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at", "id"]

    def get_queryset(self) -> QuerySet[Response]:
        return selectors.responses_visible_to(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        comment = permissions.get_comment_for_user_or_404(request.user, values["comment"].pk)
        response = services.response_save(
            actor=request.user,
            comment=comment,
            disposition=values["disposition"],
            text=values["text"],
            action_changed=values.get("action_changed"),
        )
        return APIResponse(self.get_serializer(response).data, status=status.HTTP_201_CREATED)


# Flags -------------------------------------------------------------------------------------


class FlagSerializer(serializers.Serializer):
    comment = serializers.IntegerField()
    reason = serializers.CharField(max_length=500)


class FlagViewSet(viewsets.GenericViewSet):
    """Report a comment to the moderators. Three flags from different people hold it for review."""

    serializer_class = FlagSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet:
        return Comment.objects.none()

    @extend_schema(responses={201: FlagSerializer})
    def create(self, request: Request) -> APIResponse:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = permissions.get_comment_for_user_or_404(request.user, serializer.validated_data["comment"])
        services.flag_create(actor=request.user, comment=comment, reason=serializer.validated_data["reason"])
        return APIResponse(serializer.data, status=status.HTTP_201_CREATED)


# Notifications -----------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    # The model field carries no choices (a new kind needs no migration); the API still lists them.
    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "url", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class NotificationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label="unread")

    class Meta:
        model = Notification
        fields = ["kind", "unread"]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your own notifications, newest first. ``?unread=true`` for the unread ones."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = FILTER_AND_ORDER
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.notifications_for(self.request.user)

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> APIResponse:
        notification = permissions.get_notification_for_user_or_404(request.user, pk or "")
        services.notification_mark_read(actor=request.user, notification=notification)
        return APIResponse(self.get_serializer(notification).data)

    @extend_schema(request=None, responses={200: MarkedReadSerializer})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> APIResponse:
        return APIResponse({"marked": services.notifications_mark_all_read(actor=request.user)})


# Follows -----------------------------------------------------------------------------------


class FollowSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="slug", queryset=Plan.objects.all())

    class Meta:
        model = Follow
        fields = ["id", "plan", "created_at"]
        read_only_fields = ["created_at"]


class FollowViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The plans you follow: you hear when their status changes."""

    serializer_class = FollowSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = FILTER_AND_ORDER
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Follow]:
        return selectors.follows_for(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        plan = _plan_or_404(request.user, str(_object_body(request).get("plan", "")))
        follow = services.follow_create(actor=request.user, plan=plan)
        return APIResponse(self.get_serializer(follow).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Follow) -> None:
        services.follow_delete(actor=self.request.user, plan=instance.plan)
