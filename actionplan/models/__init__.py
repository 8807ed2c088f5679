"""Action plans on the nine key steps. Issue 6 adds ``voice.py`` (comments, responses) beside ``plans.py``."""

from actionplan.models.plans import (
    Action,
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
)

__all__ = [
    "Action",
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
]
