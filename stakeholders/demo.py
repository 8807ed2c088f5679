"""Synthetic demo organisations and people. Every name here is invented for the demo."""

from __future__ import annotations

from django.conf import settings

from stakeholders import services
from stakeholders.models import Area, AreaLevel, Organisation, Role, User
from stakeholders.models import OrganisationType as T

SUB_REGION_NAMES = {
    "NCL": "North Central London",
    "NEL": "North East London",
    "NWL": "North West London",
    "SEL": "South East London",
    "SWL": "South West London",
}

# (name, type, boroughs: "ICS:<code>" for a whole ICS, "ALL" for London, else GSS short codes)
ORGANISATIONS: list[tuple[str, str, list[str], str]] = [
    *[
        (
            f"NHS {name} Integrated Care Board",
            T.ICB_COMMISSIONER,
            [f"ICS:{code}"],
            f"Commissions NHS mental-health services for {name}.",
        )
        for code, name in SUB_REGION_NAMES.items()
    ],
    ("Camden Council", T.LA_COMMISSIONER, ["CMD"], "Adult social care and public-health commissioning."),
    ("Hackney Council", T.LA_COMMISSIONER, ["HCK"], "Adult social care and public-health commissioning."),
    ("Lambeth Council", T.LA_COMMISSIONER, ["LAM"], "Adult social care and public-health commissioning."),
    ("Croydon Council", T.LA_COMMISSIONER, ["CRD"], "Adult social care and public-health commissioning."),
    ("Ealing Council", T.LA_COMMISSIONER, ["EAL"], "Adult social care and public-health commissioning."),
    ("Newham Council", T.LA_COMMISSIONER, ["NWM"], "Adult social care and public-health commissioning."),
    (
        "Northbank Mental Health NHS Foundation Trust",
        T.NHS_MH_PROVIDER,
        ["ICS:NCL"],
        "Community and inpatient mental-health services (demo provider).",
    ),
    (
        "Eastgate Community Mental Health NHS Trust",
        T.NHS_MH_PROVIDER,
        ["ICS:NEL"],
        "Community, crisis and inpatient services (demo provider).",
    ),
    (
        "Westway Mental Health NHS Trust",
        T.NHS_MH_PROVIDER,
        ["ICS:NWL"],
        "Secondary mental-health services (demo provider).",
    ),
    (
        "Southriver Mental Health NHS Foundation Trust",
        T.NHS_MH_PROVIDER,
        ["ICS:SEL"],
        "Secondary and specialist mental-health services (demo provider).",
    ),
    (
        "Wandle Valley Mental Health NHS Trust",
        T.NHS_MH_PROVIDER,
        ["ICS:SWL"],
        "Community and inpatient mental-health services (demo provider).",
    ),
    (
        "Islington Talking Therapies Partnership",
        T.PRIMARY_CARE,
        ["ISL", "CMD"],
        "NHS Talking Therapies for anxiety and depression (demo).",
    ),
    ("Southwark GP Federation", T.PRIMARY_CARE, ["SWK"], "Primary-care mental-health practitioners (demo)."),
    ("Thames Reablement Social Care", T.SOCIAL_CARE, ["TOW", "NWM", "HCK"], "Home-based reablement (demo)."),
    ("Kingsway Supported Living", T.SOCIAL_CARE, ["KNG", "RCH", "MRT"], "Supported living for adults (demo)."),
    ("Safe Haven Housing Association", T.HOUSING, ["LAM", "SWK", "LSH"], "Specialist supported housing (demo)."),
    ("Pathways Recovery Housing", T.HOUSING, ["BRT", "HRW", "EAL"], "Recovery-focused accommodation (demo)."),
    ("Mind in North London (demo)", T.VOLUNTARY, ["ICS:NCL"], "Local mental-health charity (demo)."),
    ("East London Crisis Cafe Network", T.VOLUNTARY, ["ICS:NEL"], "Evening crisis cafes (demo)."),
    ("South London Peer Support Collective", T.VOLUNTARY, ["ICS:SEL", "ICS:SWL"], "Peer support groups (demo)."),
    ("West London Wellbeing Trust", T.VOLUNTARY, ["ICS:NWL"], "Community wellbeing programmes (demo)."),
    ("Metropolitan Police mental-health liaison (demo)", T.POLICE, ["ALL"], "Street triage liaison (demo)."),
    ("City of London Police liaison (demo)", T.POLICE, ["CTY"], "Mental-health liaison (demo)."),
    ("London Public Health Network (demo)", T.PUBLIC_HEALTH, ["ALL"], "Pan-London public-health intelligence."),
    ("NHS England London Region (demo)", T.NHS_ENGLAND, ["ALL"], "Regional oversight and assurance."),
    ("Institute of Psychiatry Research Unit (demo)", T.ACADEMIC, ["ALL"], "Mental-health services research."),
    ("London School of Community Health (demo)", T.ACADEMIC, ["ALL"], "Evaluation and population health."),
    (
        "UCLPartners-style Health Innovation Network (demo)",
        T.AHSN,
        ["ICS:NCL", "ICS:NEL"],
        "Spreading innovation across the system.",
    ),
    (
        "Applied Research Collaboration South London (demo)",
        T.ARC,
        ["ICS:SEL", "ICS:SWL"],
        "Applied health research.",
    ),
    ("London Mental Health Clinical Network (demo)", T.CLINICAL_NETWORK, ["ALL"], "Clinical leadership."),
    ("Perinatal Mental Health Network London (demo)", T.CLINICAL_NETWORK, ["ALL"], "Perinatal pathway network."),
    ("Voices of Experience London", T.SERVICE_USER_GROUP, ["ALL"], "Service-user led involvement group (demo)."),
    ("Carers Together London", T.SERVICE_USER_GROUP, ["ALL"], "Carers' forum (demo)."),
    ("Young Minds Matter Forum (demo)", T.SERVICE_USER_GROUP, ["ICS:SEL"], "Young people's voice (demo)."),
    ("Haringey Housing Options (demo)", T.HOUSING, ["HGY", "ENF"], "Housing advice for people in crisis."),
    ("Barnet and Enfield Counselling Service (demo)", T.VOLUNTARY, ["BRN", "ENF"], "Low-cost counselling."),
    (
        "Riverside Independent Hospitals (demo)",
        T.INDEPENDENT_PROVIDER,
        ["ICS:SEL", "ICS:SWL"],
        "Independent-sector rehabilitation and inpatient beds the NHS commissions (demo provider).",
    ),
    (
        "UK Health Security Agency / OHID London (demo)",
        T.NATIONAL_PUBLIC_HEALTH,
        ["ALL"],
        "National public-health intelligence and health improvement, London team (demo).",
    ),
    (
        "Healthwatch London Network (demo)",
        T.OTHER,
        ["ALL"],
        "Independent champions for people who use health and care services (demo).",
    ),
    (
        "London Ambulance Service (demo)",
        T.OTHER,
        ["ALL"],
        "Emergency and urgent care, with mental-health response cars (demo).",
    ),
    (
        "Greater London Authority health team (demo)",
        T.OTHER,
        ["ALL"],
        "The Mayor's health inequalities strategy and Thrive LDN (demo).",
    ),
]
# What kind of body each organisation of the type Other is.
OTHER_KINDS = {
    "Healthwatch London Network (demo)": "Healthwatch",
    "London Ambulance Service (demo)": "Ambulance service (NHS trust)",
    "Greater London Authority health team (demo)": "Regional government",
}

# (email local part, display name, organisation name or None, roles, lived experience, staff)
PEOPLE: list[tuple[str, str, str | None, list[str], str, bool]] = [
    ("admin", "Portal administrator", None, [], "", True),
    (
        "commissioner",
        "Priya Commissioner (demo)",
        "NHS North Central London Integrated Care Board",
        [Role.COMMISSIONER, Role.ORG_ADMIN],
        "",
        False,
    ),
    ("la.commissioner", "Tom Council Commissioner (demo)", "Camden Council", [Role.COMMISSIONER], "", False),
    (
        "sel.commissioner",
        "Ade SEL Commissioner (demo)",
        "NHS South East London Integrated Care Board",
        [Role.COMMISSIONER, Role.ORG_ADMIN],
        "",
        False,
    ),
    (
        "provider",
        "Sam Data Submitter (demo)",
        "Northbank Mental Health NHS Foundation Trust",
        [Role.DATA_SUBMITTER, Role.ORG_ADMIN],
        "",
        False,
    ),
    (
        "provider2",
        "Jo Data Submitter (demo)",
        "Southriver Mental Health NHS Foundation Trust",
        [Role.DATA_SUBMITTER],
        "",
        False,
    ),
    (
        "clinician",
        "Dr Lee Clinician (demo)",
        "Northbank Mental Health NHS Foundation Trust",
        [Role.CLINICIAN],
        "",
        False,
    ),
    (
        "academic",
        "Prof Rao Academic (demo)",
        "Institute of Psychiatry Research Unit (demo)",
        [Role.ACADEMIC],
        "",
        False,
    ),
    ("moderator", "Mo Moderator (demo)", "Voices of Experience London", [Role.MODERATOR, Role.ORG_ADMIN], "", False),
    ("serviceuser", "River (service user, demo)", None, [], "service_user", False),
    ("carer", "Alex (carer, demo)", None, [], "carer", False),
]

DEMO_EMAIL_DOMAIN = "demo.londonmh.invalid"


def _boroughs(specs: list[str]) -> list[Area]:
    boroughs = Area.objects.filter(level=AreaLevel.BOROUGH)
    chosen: list[Area] = []
    for spec in specs:
        if spec == "ALL":
            chosen.extend(boroughs)
        elif spec.startswith("ICS:"):
            chosen.extend(boroughs.filter(parent__short_code=spec[4:]))
        else:
            chosen.append(boroughs.get(short_code=spec))
    return chosen


def seed() -> tuple[int, int]:
    """Create the demo organisations and people (idempotent). Returns (new organisations, new users)."""
    created_orgs = 0
    for name, org_type, specs, description in ORGANISATIONS:
        org = Organisation.objects.filter(name=name).first()
        if org is None:
            org = services.organisation_create(
                actor=None,
                name=name,
                type=org_type,
                other_type=OTHER_KINDS.get(name, ""),
                boroughs=_boroughs(specs),
                description=description,
            )
            created_orgs += 1
    created_users = 0
    for local, display, org_name, roles, lived, staff in PEOPLE:
        email = f"{local}@{DEMO_EMAIL_DOMAIN}"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=settings.DEMO_PASSWORD,
                display_name=display,
                lived_experience=lived,
                show_lived_experience=bool(lived),
                is_staff=staff,
                is_superuser=staff,
            )
            created_users += 1
        if org_name:
            org = Organisation.objects.get(name=org_name)
            for role in roles:
                services.membership_add(actor=None, user=user, organisation=org, role=role)
    return created_orgs, created_users
