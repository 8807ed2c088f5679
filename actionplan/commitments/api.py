"""REST API for a plan's commitment matrix (issue 23).

- ``GET /api/v1/plans/{slug}/commitments/``: the matrix (partners, their commitments per key
  step, signature state, reasons, representatives, uncovered steps). ``POST`` to it records a
  new commitment for one partner and key step (201, with an ``ETag``).
- ``GET``, ``PATCH`` and ``DELETE /api/v1/commitments/{id}/``: one commitment. Commitments are
  versioned: ``PATCH`` and ``DELETE`` send ``If-Match`` (428 without it, 412 when stale).
- ``POST /api/v1/plans/{slug}/commitments/sign/`` ``{"organisation": "<slug>"}``: an
  accountable officer signs; ``.../not-signed/`` ``{"organisation", "reason"}``: a plan manager
  records why a partner has not signed; ``.../co-sign/``: a representative co-signs.

The same services and permission questions as the pages (actionplan.commitments.permissions);
errors are problem details. A stranger gets 404 for a plan they may not see, a reader 403.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from actionplan import permissions as plan_permissions
from actionplan.commitments import permissions, selectors, services
from actionplan.models import Action, Commitment, KeyStep, Plan
from kernel.api import IF_MATCH, VersionedDestroyMixin, VersionedUpdateMixin, problems, with_etag
from stakeholders.models import Organisation

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _plan(request: Request, slug: str) -> Plan:
    return plan_permissions.get_plan_for_user_or_404(
        request.user, slug, queryset=Plan.objects.select_related("lead_organisation").prefetch_related("partners")
    )


def _signed_in(request: Request) -> None:
    if not request.user.is_authenticated:
        raise NotAuthenticated


# Serializers -------------------------------------------------------------------------------------


class CommitmentSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="slug", queryset=Plan.objects.all())
    organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())
    key_step = serializers.SlugRelatedField(slug_field="number", queryset=KeyStep.objects.all())
    actions = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Action.objects.all(), help_text="Ids of actions it owns or co-owns."
    )
    recorded_by = serializers.CharField(source="recorded_by.display_name", read_only=True, default=None)

    class Meta:
        model = Commitment
        fields = [
            "id",
            "plan",
            "organisation",
            "key_step",
            "contribution",
            "actions",
            "version",
            "recorded_by",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "recorded_by", "updated_at"]

    def to_representation(self, instance: Commitment) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["actions"] = sorted(link.action_id for link in instance.action_links.all())
        return data


class CommitmentUpdateSerializer(serializers.Serializer):
    contribution = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    actions = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Action.objects.all())


class CellSerializer(serializers.Serializer):
    key_step = serializers.IntegerField(source="key_step.number")
    commitment = serializers.SerializerMethodField()

    def get_commitment(self, cell: selectors.Cell) -> dict[str, Any] | None:
        c = cell.commitment
        if c is None:
            return None
        return {
            "id": c.pk,
            "contribution": c.contribution,
            "actions": [{"id": link.action_id, "title": link.action.title} for link in c.action_links.all()],
            "version": c.version,
        }


class PartnerSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(source="organisation.name")
    lead = serializers.BooleanField(source="is_lead")
    signature = serializers.ChoiceField(
        source="state",
        choices=[selectors.SIGNED, selectors.STALE, selectors.UNSIGNED],
        help_text="signed; stale (its commitments changed since: needs a new signature); unsigned.",
    )
    signed_by = serializers.SerializerMethodField()
    signed_at = serializers.SerializerMethodField()
    not_signed_reason = serializers.CharField(source="waiver")
    commitments = CellSerializer(source="cells", many=True)

    def get_signed_by(self, row: selectors.PartnerRow) -> str | None:
        return row.sign_off.signed_by.display_name if row.sign_off and row.sign_off.is_signed else None

    def get_signed_at(self, row: selectors.PartnerRow) -> str | None:
        return row.sign_off.signed_at.isoformat() if row.sign_off and row.sign_off.is_signed else None


class RepresentativeSerializer(serializers.Serializer):
    name = serializers.CharField(source="representative.user.display_name")
    represents = serializers.CharField(source="representative.lived_experience")
    co_signature = serializers.CharField(source="state")
    co_signed_at = serializers.DateTimeField(source="representative.cosigned_at")


class MatrixSerializer(serializers.Serializer):
    plan = serializers.CharField(source="plan.slug")
    partners = PartnerSerializer(source="rows", many=True)
    uncovered_steps = serializers.SerializerMethodField()
    can_become_active = serializers.SerializerMethodField()
    representatives = RepresentativeSerializer(many=True)

    def get_uncovered_steps(self, matrix: selectors.Matrix) -> list[int]:
        return [s.number for s in matrix.uncovered_steps]

    def get_can_become_active(self, matrix: selectors.Matrix) -> bool:
        return not matrix.blockers


class OrganisationBodySerializer(serializers.Serializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())


class WaiverBodySerializer(OrganisationBodySerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


def _matrix_response(request: Request, plan: Plan, code: int = 200) -> Response:
    return Response(MatrixSerializer(selectors.matrix(plan, request.user)).data, status=code)


# Views -------------------------------------------------------------------------------------------


class PlanCommitmentsView(APIView):
    """The plan's commitment matrix; POST records a new commitment."""

    @extend_schema(responses={200: MatrixSerializer, **problems(404)})
    def get(self, request: Request, slug: str) -> Response:
        return _matrix_response(request, _plan(request, slug))

    @extend_schema(request=CommitmentSerializer, responses={201: CommitmentSerializer, **problems(400, 401, 403, 404)})
    def post(self, request: Request, slug: str) -> Response:
        _signed_in(request)
        plan = _plan(request, slug)
        if not permissions.recordable_organisation_ids(request.user, plan):
            raise PermissionDenied("Only members of the plan's partner organisations record commitments.")
        body = CommitmentSerializer(data={**request.data, "plan": plan.slug})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not permissions.can_record_for(request.user, plan, data["organisation"]):
            raise PermissionDenied("Only members of that partner organisation record its commitments.")
        if Commitment.objects.filter(plan=plan, organisation=data["organisation"], key_step=data["key_step"]).exists():
            raise serializers.ValidationError(
                {
                    "key_step": "That partner already has a commitment under this step: "
                    "PATCH it at /api/v1/commitments/{id}/."
                }
            )
        commitment = services.commitment_save(
            actor=request.user,
            plan=plan,
            organisation=data["organisation"],
            key_step=data["key_step"],
            contribution=data.get("contribution", ""),
            actions=data.get("actions", []),
            create_only=True,
        )
        commitment = Commitment.objects.prefetch_related("action_links").get(pk=commitment.pk)
        return with_etag(Response(CommitmentSerializer(commitment).data, status=status.HTTP_201_CREATED), commitment)


class CommitmentPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or request.user.is_authenticated

    def has_object_permission(self, request: Request, view: Any, obj: Commitment) -> bool:
        return request.method in SAFE_METHODS or permissions.can_record_for(request.user, obj.plan, obj.organisation_id)


class CommitmentViewSet(
    VersionedUpdateMixin,
    VersionedDestroyMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One commitment, in a plan the caller may see. PATCH and DELETE need If-Match."""

    serializer_class = CommitmentSerializer
    permission_classes = [CommitmentPermission]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            Commitment.objects.filter(plan__in=plan_permissions.plans_visible_to(self.request.user))
            .select_related("plan", "plan__lead_organisation", "organisation", "key_step", "recorded_by")
            .prefetch_related("action_links", "plan__partners")
        )

    def write_serializer(self, instance: Commitment, data: Any) -> CommitmentUpdateSerializer:
        return CommitmentUpdateSerializer(data=data)

    def versioned_update(self, instance: Commitment, data: dict[str, Any], expected_version: int) -> None:
        current_actions = [link.action for link in instance.action_links.select_related("action")]
        services.commitment_save(
            actor=self.request.user,
            plan=instance.plan,
            organisation=instance.organisation,
            key_step=instance.key_step,
            contribution=data.get("contribution", instance.contribution),
            actions=data.get("actions", current_actions),
            expected_version=expected_version,
        )

    def versioned_destroy(self, instance: Commitment, expected_version: int) -> None:
        services.commitment_delete(actor=self.request.user, commitment=instance, expected_version=expected_version)

    @extend_schema(responses={200: CommitmentSerializer, **problems(404)})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=CommitmentUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: CommitmentSerializer, **problems(400, 401, 403, 404, 412, 428)},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(parameters=[IF_MATCH], responses={204: None, **problems(401, 403, 404, 412, 428)})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)


class SignView(APIView):
    """An accountable officer signs a partner's commitments as they are now."""

    @extend_schema(
        request=OrganisationBodySerializer, responses={200: MatrixSerializer, **problems(400, 401, 403, 404)}
    )
    def post(self, request: Request, slug: str) -> Response:
        _signed_in(request)
        plan = _plan(request, slug)
        if not permissions.signable_organisation_ids(request.user, plan):
            raise PermissionDenied("Only a partner's accountable officer (organisation admin or commissioner) signs.")
        body = OrganisationBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organisation = body.validated_data["organisation"]
        if not permissions.can_sign_for(request.user, plan, organisation):
            raise PermissionDenied(
                "Only that partner's accountable officer (organisation admin or commissioner) signs."
            )
        services.commitments_sign(actor=request.user, plan=plan, organisation=organisation)
        return _matrix_response(request, plan)


class NotSignedView(APIView):
    """A plan manager records (or, with an empty reason, clears) why a partner has not signed."""

    @extend_schema(request=WaiverBodySerializer, responses={200: MatrixSerializer, **problems(400, 401, 403, 404)})
    def post(self, request: Request, slug: str) -> Response:
        _signed_in(request)
        plan = _plan(request, slug)
        if not permissions.can_waive(request.user, plan):
            raise PermissionDenied("Only the plan's managers record why a partner has not signed.")
        body = WaiverBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.sign_off_waive(actor=request.user, plan=plan, **body.validated_data)
        return _matrix_response(request, plan)


class CosignView(APIView):
    """A lived-experience representative co-signs the matrix as it is now."""

    @extend_schema(request=None, responses={200: MatrixSerializer, **problems(400, 401, 403, 404)})
    def post(self, request: Request, slug: str) -> Response:
        _signed_in(request)
        plan = _plan(request, slug)
        if not permissions.can_cosign(request.user, plan):
            raise PermissionDenied("Only the plan's named lived-experience representatives co-sign.")
        services.matrix_cosign(actor=request.user, plan=plan)
        return _matrix_response(request, plan)
