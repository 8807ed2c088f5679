"""Every /api/v1/ route. Each app registers its viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from actionplan import api as actionplan_api
from actionplan.commitments import api as commitments_api
from actionplan.consultations import api as consultations_api
from actionplan.duplicates import api as duplicates_api
from actionplan.voice import api as voice_api
from commissioning import api as commissioning_api
from commissioning.decisions import api as decisions_api
from commissioning.narrative import api as narrative_api
from commissioning.queries import api as queries_api
from commissioning.schedules import api as schedules_api
from commissioning.statements import api as statements_api
from outcomes import api as outcomes_api
from outcomes.inequalities import api as inequalities_api
from stakeholders import api as stakeholders_api

router = DefaultRouter()
router.register("areas", stakeholders_api.AreaViewSet, basename="area")
router.register("boroughs", stakeholders_api.BoroughViewSet, basename="borough")
router.register("organisations", stakeholders_api.OrganisationViewSet, basename="organisation")
router.register("memberships", stakeholders_api.MembershipViewSet, basename="membership")
router.register("indicators", outcomes_api.IndicatorViewSet, basename="indicator")
router.register("populations", outcomes_api.PopulationViewSet, basename="population")
router.register("outcome-values", outcomes_api.OutcomeValueViewSet, basename="outcome-value")
router.register("submissions", outcomes_api.SubmissionViewSet, basename="submission")
router.register("metrics", outcomes_api.MetricViewSet, basename="metric")
router.register("key-steps", actionplan_api.KeyStepViewSet, basename="key-step")
router.register("priority-areas", outcomes_api.PriorityAreaViewSet, basename="priority-area")
router.register("plans", actionplan_api.PlanViewSet, basename="plan")
router.register("actions", actionplan_api.ActionViewSet, basename="action")
router.register("milestones", actionplan_api.MilestoneViewSet, basename="milestone")
router.register("commitments", commitments_api.CommitmentViewSet, basename="commitment")
router.register("evidence", actionplan_api.EvidenceViewSet, basename="evidence")
router.register("partnerships", commissioning_api.PartnershipViewSet, basename="partnership")
router.register("partnership-meetings", decisions_api.MeetingViewSet, basename="partnership-meeting")
router.register("partnership-decisions", decisions_api.DecisionViewSet, basename="partnership-decision")
router.register("contracts", commissioning_api.ContractViewSet, basename="contract")
router.register("contract-measures", commissioning_api.ContractMeasureViewSet, basename="contract-measure")
router.register("comments", voice_api.CommentViewSet, basename="comment")
router.register("responses", voice_api.ResponseViewSet, basename="response")
router.register("flags", voice_api.FlagViewSet, basename="flag")
router.register("notifications", voice_api.NotificationViewSet, basename="notification")
router.register("follows", voice_api.FollowViewSet, basename="follow")
router.register("consultations", consultations_api.ConsultationViewSet, basename="consultation")
router.register("change-checks", consultations_api.ChangeCheckViewSet, basename="change-check")
router.register("reporting-schedules", schedules_api.ReportingScheduleViewSet, basename="reporting-schedule")
router.register("completeness", schedules_api.CompletenessViewSet, basename="completeness")
router.register("value-queries", queries_api.ValueQueryViewSet, basename="value-query")
router.register("payment-statements", statements_api.PaymentStatementViewSet, basename="payment-statement")
router.register("stories", narrative_api.StoryViewSet, basename="story")

urlpatterns = [
    path("me/", stakeholders_api.me, name="me"),
    path(
        "indicators/<slug:code>/inequalities/",
        inequalities_api.IndicatorInequalitiesView.as_view(),
        name="indicator-inequalities",
    ),
    # A plan's commitment matrix (issue 23): read it, record, sign, reasons, co-sign.
    path("plans/<slug:slug>/commitments/", commitments_api.PlanCommitmentsView.as_view(), name="plan-commitments"),
    path("plans/<slug:slug>/commitments/sign/", commitments_api.SignView.as_view(), name="plan-commitments-sign"),
    path(
        "plans/<slug:slug>/commitments/not-signed/",
        commitments_api.NotSignedView.as_view(),
        name="plan-commitments-not-signed",
    ),
    path(
        "plans/<slug:slug>/commitments/co-sign/", commitments_api.CosignView.as_view(), name="plan-commitments-cosign"
    ),
    # Duplicated work (issue 23): candidate pairs, dismiss, merge or propose, split.
    path("duplicates/", duplicates_api.DuplicateListView.as_view(), name="duplicate-list"),
    path("duplicates/dismiss/", duplicates_api.DuplicateDismissView.as_view(), name="duplicate-dismiss"),
    path("duplicates/merge/", duplicates_api.DuplicateMergeView.as_view(), name="duplicate-merge"),
    path("duplicates/merges/<int:pk>/split/", duplicates_api.MergeSplitView.as_view(), name="duplicate-merge-split"),
    # With its .json twin: a submission read as /submissions/<id>.json links to its issues the same way.
    *format_suffix_patterns(
        [
            path(
                "submissions/<int:submission_id>/issues/",
                outcomes_api.SubmissionIssueList.as_view(),
                name="submission-issues",
            )
        ]
    ),
    *router.urls,
]
