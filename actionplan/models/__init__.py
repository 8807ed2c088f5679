"""Action plans on the nine key steps. Issue 6 adds ``voice.py`` (comments, responses) beside ``plans.py``."""

from actionplan.models.commitments import Commitment, CommitmentAction, PartnerSignOff, PlanRepresentative
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
    "EvidenceItem",
    "EvidenceType",
    "KeyStep",
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
]
