"""REST API for consultations (questions and public results), answering, and "did it make a difference".

The same services and permission questions as the pages: a consultation on a plan the caller
may not see, or a draft they do not manage, is a 404; answering needs a signed-in caller
(401/403) and an open consultation (400 when closed); results carry the same small-number
control as the page (``null`` counts with ``shown`` saying why).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse

from actionplan import permissions as plan_permissions
from actionplan.consultations import permissions, selectors, services
from actionplan.models import ChangeCheck, Consultation, Participation, Question, RespondentGroup
from kernel.api import problems
from kernel.markdown import render_markdown


def _object_body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send one JSON object."]})
    return request.data


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "hint", "options", "scale_low", "scale_high", "required"]
        read_only_fields = fields


class CountSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField(allow_null=True, help_text="null when not shown")
    shown = serializers.ChoiceField(
        choices=["shown", "fewer_than_5", "not_shown"],
        help_text="fewer_than_5: under 5; not_shown: hidden so that a number under 5 cannot be worked out.",
    )


class BreakdownSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="null when fewer than 5")
    withheld = serializers.BooleanField(help_text="No count is shown at all.")
    counts = CountSerializer(many=True)


class QuestionResultSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    answered = serializers.IntegerField(allow_null=True, help_text="null when fewer than 5")
    breakdown = BreakdownSerializer(allow_null=True)
    mean = serializers.FloatField(allow_null=True, help_text="Scale questions, when nothing is hidden.")
    texts = serializers.ListField(child=serializers.CharField(), help_text="Published written answers.")


class ResultsSerializer(serializers.Serializer):
    respondents = serializers.IntegerField(allow_null=True, help_text="null when fewer than 5")
    groups = BreakdownSerializer()
    questions = QuestionResultSerializer(many=True)


def _results(consultation: Consultation, items: list[Question]) -> dict[str, Any] | None:
    if consultation.published_at is None:
        return None
    r = selectors.results(consultation, items)
    return {
        "respondents": r.respondents,
        "groups": r.groups.as_dict(),
        "questions": [
            {
                "question": q.question.pk,
                "answered": q.answered,
                "breakdown": q.breakdown.as_dict() if q.breakdown else None,
                "mean": q.mean,
                "texts": q.texts,
            }
            for q in r.questions
        ],
    }


class ConsultationSerializer(serializers.ModelSerializer):
    web_url = serializers.SerializerMethodField()
    plan = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.SerializerMethodField()
    respondents = serializers.SerializerMethodField(help_text="null when fewer than 5")

    class Meta:
        model = Consultation
        fields = ["id", "web_url", "plan", "action", "title", "opens_on", "closes_on", "state", "respondents"]
        read_only_fields = fields

    def get_web_url(self, obj: Consultation) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())

    @extend_schema_field(serializers.ChoiceField(choices=["draft", "scheduled", "open", "closed"]))
    def get_state(self, obj: Consultation) -> str:
        return obj.state()

    def get_respondents(self, obj: Consultation) -> int | None:
        n = getattr(obj, "n_people", None)
        return n if n is not None and n >= 5 else None


class ConsultationDetailSerializer(ConsultationSerializer):
    introduction_html = serializers.SerializerMethodField()
    questions = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta(ConsultationSerializer.Meta):
        fields = [*ConsultationSerializer.Meta.fields, "introduction", "introduction_html", "questions", "results"]
        read_only_fields = fields

    def get_introduction_html(self, obj: Consultation) -> str:
        return str(render_markdown(obj.introduction, top_heading=2))

    @extend_schema_field(QuestionSerializer(many=True))
    def get_questions(self, obj: Consultation) -> list[dict]:
        return QuestionSerializer(self.context["questions"], many=True).data

    @extend_schema_field(ResultsSerializer(allow_null=True))
    def get_results(self, obj: Consultation) -> dict | None:
        return _results(obj, self.context["questions"])


class AnswersWriteSerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=[*RespondentGroup.values, ""], required=False, default="")
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text="By question id: a list of option indexes (choice questions, e.g. [0, 2]), a number 1 to 5 "
        '(scale), or text. For example {"12": [1], "13": 4, "14": "More evening hours."}',
    )


class ParticipationSerializer(serializers.ModelSerializer):
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Participation
        fields = ["id", "consultation", "group", "submitted_at", "updated_at", "answers"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.JSONField()))
    def get_answers(self, obj: Participation) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in obj.answers.all():
            out[str(a.question_id)] = a.scale if a.scale is not None else (a.text or a.choices)
        return out


class ConsultationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Consultations on plans you may see, newest first; ``?plan=<slug>`` for one plan's.

    A consultation's page has its questions and its public results (counts under 5 are ``null``,
    with ``shown`` saying why). Signed-in people POST their answers to ``answers/`` while it is open.
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = ConsultationSerializer

    def get_queryset(self) -> QuerySet[Consultation]:
        qs = (
            Consultation.objects.filter(
                plan__in=plan_permissions.plans_visible_to(self.request.user), published_at__isnull=False
            )
            .select_related("plan")
            .annotate(n_people=Count("participations"))
            .order_by("-opens_on", "-pk")
        )
        slug = self.request.query_params.get("plan")
        return qs.filter(plan__slug=slug) if slug else qs

    @extend_schema(parameters=[OpenApiParameter("plan", str, description="A plan's slug")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Consultation:
        pk = str(self.kwargs.get("pk", ""))
        if not pk.isdigit():
            raise Http404
        found = Consultation.objects.select_related("plan").filter(pk=int(pk)).first()
        if found is None or not permissions.can_view_consultation(self.request.user, found):
            raise Http404
        return found

    @extend_schema(responses={200: ConsultationDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> APIResponse:
        consultation = self.get_object()
        consultation.n_people = consultation.participations.count()
        context = {**self.get_serializer_context(), "questions": selectors.questions(consultation)}
        return APIResponse(ConsultationDetailSerializer(consultation, context=context).data)

    @extend_schema(
        request=AnswersWriteSerializer,
        responses={201: ParticipationSerializer, **problems(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def answers(self, request: Request, pk: str | None = None) -> APIResponse:
        """Give (or change) your answers while it is open: one set per person. Every problem is
        listed at once, by question (``q<id>``)."""
        consultation = self.get_object()
        body = AnswersWriteSerializer(data=_object_body(request))
        body.is_valid(raise_exception=True)
        raw = body.validated_data["answers"]
        answers = {int(k): v for k, v in raw.items() if str(k).isdigit()}
        if len(answers) != len(raw):
            raise serializers.ValidationError({"answers": ["Key each answer by its question's id (a number)."]})
        participation = services.answers_submit(
            actor=request.user, consultation=consultation, answers=answers, group=body.validated_data["group"]
        )
        participation = Participation.objects.prefetch_related("answers").get(pk=participation.pk)
        return APIResponse(ParticipationSerializer(participation).data, status=status.HTTP_201_CREATED)


class ChangeCheckSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="action.plan.slug", read_only=True)
    action_title = serializers.CharField(source="action.title", read_only=True)
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = ChangeCheck
        fields = ["id", "web_url", "plan", "action", "action_title", "asked_at", "rating", "comment", "answered_at"]
        read_only_fields = fields

    def get_web_url(self, obj: ChangeCheck) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())


class ChangeCheckAnswerSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ChangeCheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your own "did it make a difference" questions: an action your comment changed is done.

    POST ``{"rating": 1-5, "comment": "..."}`` to ``answer/``, once.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = ChangeCheckSerializer

    def get_queryset(self) -> QuerySet[ChangeCheck]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ChangeCheck.objects.none()
        return (
            ChangeCheck.objects.filter(user=self.request.user)
            .select_related("action__plan")
            .order_by("-asked_at", "-pk")
        )

    @extend_schema(request=ChangeCheckAnswerSerializer, responses={200: ChangeCheckSerializer, **problems(400, 404)})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> APIResponse:
        check = self.get_object()
        body = ChangeCheckAnswerSerializer(data=_object_body(request))
        body.is_valid(raise_exception=True)
        services.change_check_answer(actor=request.user, check=check, **body.validated_data)
        return APIResponse(self.get_serializer(check).data)


__all__ = ["ChangeCheckViewSet", "ConsultationViewSet"]
