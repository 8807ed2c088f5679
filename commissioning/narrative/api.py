"""REST API for quarterly stories: the same services and permission questions as the pages.

Anyone reads published stories (`/api/v1/stories/`, filter `?area=<GSS code>&status=`); the
area's commissioners also see its drafts. Editors PATCH the title, body and Easy Read text and
POST `/stories/{id}/publish/`, both with `If-Match` (the ETag of the last GET: 428 without it,
412 when stale). A draft someone may not edit is a 404; a published story they may not edit
answers writes with 403.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action as api_action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from commissioning.api import SignedInWrites
from commissioning.narrative import permissions, selectors, services
from commissioning.narrative.models import Story, StoryStatus
from kernel.api import IF_MATCH, VersionedUpdateMixin, problems, with_etag
from kernel.concurrency import expected_version_from_request
from kernel.markdown import render_markdown


class SourceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="indicator, action, decision or response")
    title = serializers.CharField()
    url = serializers.CharField(help_text="The portal page it refers to (a path).")
    detail = serializers.CharField(allow_blank=True)


class StorySerializer(serializers.ModelSerializer):
    web_url = serializers.SerializerMethodField()
    area = serializers.CharField(source="area.code", read_only=True, help_text="GSS code: London or a borough.")
    area_name = serializers.CharField(source="area.name", read_only=True)
    quarter = serializers.CharField(source="quarter_label", read_only=True, help_text="Financial quarter, 2026-27 Q2.")
    body_html = serializers.SerializerMethodField()
    easy_read_lines = serializers.ListField(child=serializers.CharField(), read_only=True)
    sources = SourceSerializer(many=True, read_only=True)

    class Meta:
        model = Story
        fields = [
            "id",
            "web_url",
            "area",
            "area_name",
            "quarter",
            "quarter_start",
            "status",
            "title",
            "body",
            "body_html",
            "easy_read",
            "easy_read_lines",
            "sources",
            "edited",
            "drafted_at",
            "published_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in ("title", "body", "easy_read")]

    def get_web_url(self, obj: Story) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())

    def get_body_html(self, obj: Story) -> str:
        return str(render_markdown(obj.body, top_heading=2))


class StoryEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=20_000, required=False)
    easy_read = serializers.CharField(max_length=5_000, required=False)


class StoryFilter(django_filters.FilterSet):
    area = django_filters.CharFilter(field_name="area__code", help_text="GSS code of London or a borough.")
    status = django_filters.ChoiceFilter(choices=StoryStatus.choices)

    class Meta:
        model = Story
        fields = ["area", "status"]


class StoryViewSet(VersionedUpdateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quarterly mental health stories for London and each borough. Anyone reads the published ones.

    The area's commissioners also read its drafts, PATCH the text with `If-Match`, and POST
    `publish/` with `If-Match`.
    """

    serializer_class = StorySerializer
    permission_classes = [SignedInWrites]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    filterset_class = StoryFilter
    ordering_fields = ["quarter_start", "published_at"]
    ordering = ["-quarter_start", "-area__level", "area__name", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.story_index(self.request.user)

    def get_object(self) -> Story:
        return permissions.get_story_or_404(self.request.user, self.kwargs["pk"])

    def check_write(self, instance: Story) -> None:
        permissions.get_story_or_404(self.request.user, str(instance.pk), write=True)

    def write_serializer(self, instance: Story, data: Any) -> StoryEditSerializer:
        return StoryEditSerializer(data=data)

    def versioned_update(self, instance: Story, data: dict[str, Any], expected_version: int) -> None:
        values = {"title": instance.title, "body": instance.body, "easy_read": instance.easy_read, **data}
        services.story_update(actor=self.request.user, story=instance, expected_version=expected_version, **values)

    @extend_schema(
        request=StoryEditSerializer, parameters=[IF_MATCH], responses={200: StorySerializer, **problems(412, 428)}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Edit the title, body (markdown) or Easy Read text (one idea a line). An edited draft is never re-drafted."""
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=None, parameters=[IF_MATCH], responses={200: StorySerializer, **problems(412, 428)})
    @api_action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft with its Easy Read version; followers of the area's plans are told."""
        story = permissions.get_story_or_404(request.user, pk or "", write=True)
        expected = expected_version_from_request(request)
        services.story_publish(actor=request.user, story=story, expected_version=expected)
        story = self.get_object()
        return with_etag(Response(self.get_serializer(story).data), story)


__all__ = ["StoryViewSet"]
