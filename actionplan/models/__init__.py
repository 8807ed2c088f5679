"""Action plans on the nine key steps. Issue 6 adds ``voice.py`` (comments, responses) beside ``plans.py``."""

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
    "EvidenceItem",
    "EvidenceType",
    "KeyStep",
    "Milestone",
    "Plan",
    "PlanGroupObjectPermission",
    "PlanScope",
    "PlanStatus",
    "PlanUserObjectPermission",
    "PlanVisibility",
    "ProgressNote",
]
