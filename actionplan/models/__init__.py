"""Action plans on the nine key steps. Issue 6 adds ``voice.py`` (comments, responses) beside ``plans.py``."""

# Duplicated work found and merged (issue 23) lives in its own sub-package; imported so Django finds it.
from actionplan.duplicates.models import DismissedPair, MergeRecord, SharedAction
from actionplan.models.commitments import Commitment, CommitmentAction, PartnerSignOff, PlanRepresentative
from actionplan.models.consultations import *  # noqa: F403  (issue 23: consultations, closing the loop)
from actionplan.models.plans import (
    Action,
    ActionCoOwner,
    ActionIndicator,
    ActionStatus,
    EvidenceItem,
    EvidenceType,
    KeyStep,
    Milestone,
    Plan,
    PlanGroupObjectPermission,
    PlanScope,
    PlanStatus,
    PlanUserObjectPermission,
    PlanVisibility,
    ProgressNote,
)
from actionplan.models.voice import *  # noqa: F403  (issue 6: comments, responses, notifications)

__all__ = [
    "Action",
    "ActionCoOwner",
    "ActionIndicator",
    "ActionStatus",
    "Commitment",
    "CommitmentAction",
    "DismissedPair",
    "EvidenceItem",
    "EvidenceType",
    "KeyStep",
    "MergeRecord",
    "Milestone",
    "PartnerSignOff",
    "Plan",
    "PlanGroupObjectPermission",
    "PlanRepresentative",
    "PlanScope",
    "PlanStatus",
    "PlanUserObjectPermission",
    "PlanVisibility",
    "ProgressNote",
    "SharedAction",
]
