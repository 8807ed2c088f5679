"""The nine key steps of London's plan of action for mental health, in the plan's order.

The steps say how London's partners work together; what an action improves (crisis care,
early help...) is its priority area (``outcomes.models.PriorityArea``), a second dimension.
Fixed reference data: migration ``0005_key_steps_plan_of_action`` writes exactly these rows.
The titles keep the plan's own words; the descriptions are the portal's.
"""

from __future__ import annotations

# number, slug, title, what the step asks of London's partners
KEY_STEPS: list[tuple[int, str, str, str]] = [
    (
        1,
        "collaborative-commissioning",
        "Developing collaborative commissioning",
        "NHS and council commissioners agree shared priorities for mental health, pool what they can "
        "and commission together across boroughs, so that a change is planned once for the people it "
        "serves instead of borough by borough and service by service.",
    ),
    (
        2,
        "systems-leadership",
        "Driving change through collective systems leadership",
        "Leaders of trusts, councils, integrated care boards, the police and the voluntary sector take "
        "joint responsibility for London's mental health: they settle differences openly, put shared "
        "goals above their own organisation's and hold each other to one plan.",
    ),
    (
        3,
        "service-users-clinicians",
        "Service users and clinicians at the core of provision",
        "People who use services, their carers and front-line clinicians shape what is commissioned "
        "and how it runs: they sit where decisions are made, design services with commissioners and "
        "judge whether those services work.",
    ),
    (
        4,
        "contracting-integration",
        "Contracting systems that support integration",
        "Contracts, payment and incentives reward providers for working together around the person, "
        "for example alliance and outcome-based contracts, in place of terms that keep services and "
        "budgets apart.",
    ),
    (
        5,
        "public-health-approach",
        "A public health approach to mental wellbeing",
        "Councils, the NHS and communities act on the causes of poor mental health and promote "
        "wellbeing across the whole population, in schools, workplaces and neighbourhoods, not only "
        "once people become ill.",
    ),
    (
        6,
        "pan-london-solutions",
        "Pan-London solutions",
        "Where a problem crosses borough lines, such as crisis care, police detentions or specialist "
        "beds, London's partners solve it once and together, so that the answer reaches every "
        "Londoner and has more impact.",
    ),
    (
        7,
        "outcomes-data",
        "Meaningful outcomes data",
        "Partners agree the outcomes that matter to people, collect them the same way across London "
        "and share them openly, so that everyone can see what is improving and where.",
    ),
    (
        8,
        "academic-infrastructure",
        "Using London's academic infrastructure to disseminate best practice",
        "London's universities, applied research collaborations and health innovation networks "
        "evaluate what works and help commissioners and providers put it into everyday care.",
    ),
    (
        9,
        "new-narrative",
        "A new narrative for mental health",
        "Partners tell one hopeful, honest story about mental health, challenge stigma alongside "
        "people with lived experience and make the case for parity with physical health.",
    ),
]
