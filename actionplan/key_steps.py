"""The nine key steps of London's plan of action for mental health, in the portal's own words.

Fixed reference data: the data migration ``0002_key_steps`` loads exactly these rows, and the
demo data (``actionplan.demo``) says which indicators measure each step.
"""

from __future__ import annotations

# number, slug, title, short description
KEY_STEPS: list[tuple[int, str, str, str]] = [
    (
        1,
        "prevention",
        "Promote good mental health and prevent illness",
        "Public mental health across London: reduce the things that harm mental health, strengthen "
        "the things that protect it, and prevent suicide.",
    ),
    (
        2,
        "early-help",
        "Early help close to home",
        "Quick access to talking therapies and community support through GPs, schools and voluntary "
        "services, before problems become crises.",
    ),
    (
        3,
        "children-young-people",
        "Children, young people and new parents",
        "Timely help for children, young people and parents in the perinatal period, and smooth "
        "moves from children's to adult services.",
    ),
    (
        4,
        "crisis-care",
        "Crisis care that responds within hours",
        "Round-the-clock crisis lines, crisis teams and safe places, fewer police detentions, and "
        "nobody sent out of London for a bed they could have had locally.",
    ),
    (
        5,
        "severe-mental-illness",
        "Community care for severe mental illness",
        "Joined-up community care for people with psychosis and other severe illness, with early "
        "intervention and follow-up after discharge.",
    ),
    (
        6,
        "physical-health",
        "Physical and mental health together",
        "Annual physical health checks, and care that treats the whole person, so people with "
        "mental illness do not die years earlier than others.",
    ),
    (
        7,
        "life-chances",
        "Homes, work and belonging",
        "Settled homes, employment support and social connection as part of recovery, with carers "
        "recognised and supported.",
    ),
    (
        8,
        "research-evidence",
        "Research, evidence and learning",
        "Use London's academic infrastructure to evaluate what works, share best practice and put "
        "evidence into everyday commissioning.",
    ),
    (
        9,
        "fairness-voice",
        "Fair care shaped by the people who use it",
        "Close gaps in access, experience and outcomes between communities, reduce restrictive "
        "practice, and commission with service users and carers.",
    ),
]
