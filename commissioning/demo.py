"""Synthetic demo partnerships, contracts and outcome-linked measures. Every name and figure is invented.

Runs after the outcomes demo (it links measures to the demo indicators) and is idempotent:
once the demo partnerships exist it changes nothing. Dates are relative to today so the
register always shows active, expiring, ended and draft contracts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from commissioning import services
from commissioning.models import ContractForm, Partnership, PartnershipScope, ProviderRole, add_months
from outcomes.models import Indicator
from stakeholders.models import Area, AreaLevel, Organisation

ICB = "NHS {} Integrated Care Board"
NCL, NEL, NWL, SEL, SWL = (
    ICB.format(n)
    for n in (
        "North Central London",
        "North East London",
        "North West London",
        "South East London",
        "South West London",
    )
)
PAN_LONDON = "London Mental Health Commissioning Collaborative (demo)"
NCL_PARTNERSHIP = "North Central London Mental Health Partnership (demo)"
SEL_PARTNERSHIP = "South East London Mental Health Alliance Board (demo)"

NORTHBANK = "Northbank Mental Health NHS Foundation Trust"
EASTGATE = "Eastgate Community Mental Health NHS Trust"
WESTWAY = "Westway Mental Health NHS Trust"
SOUTHRIVER = "Southriver Mental Health NHS Foundation Trust"
WANDLE = "Wandle Valley Mental Health NHS Trust"
TALKING = "Islington Talking Therapies Partnership"
MIND_N = "Mind in North London (demo)"
CAFE = "East London Crisis Cafe Network"
PEER = "South London Peer Support Collective"
WELLBEING = "West London Wellbeing Trust"
SAFE_HAVEN = "Safe Haven Housing Association"
PATHWAYS = "Pathways Recovery Housing"
SOUTHWARK_GP = "Southwark GP Federation"
THAMES = "Thames Reablement Social Care"
KINGSWAY = "Kingsway Supported Living"

TERMS = """# Purpose

We commission mental-health services together where doing so gives people better, fairer care
than each of us could alone.

## How we work

- Decisions are made by consensus of the members; the lead commissioner holds the contracts.
- We publish a summary of every contract we agree.
- People with lived experience take part in every meeting.

## Meetings

Every two months, with papers a week before.
"""

L, S, A = ProviderRole.LEAD, ProviderRole.SUBCONTRACTOR, ProviderRole.ALLIANCE_PARTNER

# reference, title, commissioner (org or partnership name), form, providers, boroughs ("ICS:X", "ALL" or
# short codes), annual value in pounds, start offset and length in months, agreed, publishable,
# measures: (indicator code, baseline, target, share %)
CONTRACTS: list[tuple] = [
    ("LDN-MH-001", "Pan-London crisis line and crisis cafes", PAN_LONDON, ContractForm.ALLIANCE,
     [(EASTGATE, A), (CAFE, A), (PEER, A), (WELLBEING, A)], ["ALL"], 12_400_000, -14, 48, True, True,
     [("crisis-24h", "72", "85", "6"), ("followup-72h", "70", "80", "4")]),
    ("LDN-MH-002", "Pan-London perinatal mental-health network", PAN_LONDON, ContractForm.LEAD_PROVIDER,
     [(NORTHBANK, L), (SOUTHRIVER, S), (WESTWAY, S)], ["ALL"], 8_750_000, -30, 36, True, True,
     [("perinatal-access", "900", "1100", "5")]),
    ("LDN-MH-003", "Pan-London out-of-area placements reduction", PAN_LONDON, ContractForm.ALLIANCE,
     [(NORTHBANK, A), (EASTGATE, A), (WESTWAY, A), (SOUTHRIVER, A), (WANDLE, A)], ["ALL"], 22_000_000, 2, 60,
     False, False, [("oap-inappropriate", "4000", "1500", "10")]),
    ("NCL-MH-001", "North Central London community mental-health transformation", NCL_PARTNERSHIP,
     ContractForm.LEAD_PROVIDER, [(NORTHBANK, L), (MIND_N, S)], ["ICS:NCL"], 31_500_000, -20, 60, True, True,
     [("smi-physical-check", "45", "60", "3"), ("smi-employment", "8", "12", "2"), ("readmit-30d", "12", "9", "3")]),
    ("NCL-MH-002", "Camden and Islington talking therapies", NCL_PARTNERSHIP, ContractForm.SINGLE,
     [(TALKING, L)], ["CMD", "ISL"], 6_200_000, -9, 36, True, True,
     [("tt-recovery", "48", "50", "5"), ("tt-wait-6wk", "85", "90", "3")]),
    ("NCL-MH-003", "Early intervention in psychosis, north central London", NCL, ContractForm.SINGLE,
     [(NORTHBANK, L)], ["ICS:NCL"], 4_300_000, -33, 36, True, False,
     [("eip-2wk", "60", "65", "5"), ("readmit-30d", "11", "9", "3")]),
    ("NEL-MH-001", "East London crisis alternatives", NEL, ContractForm.ALLIANCE,
     [(EASTGATE, A), (CAFE, A), (THAMES, A)], ["ICS:NEL"], 9_800_000, -6, 48, True, True,
     [("crisis-24h", "70", "80", "5"), ("s136-detentions", "45", "35", "5")]),
    ("NEL-MH-002", "Hackney supported recovery", "Hackney Council", ContractForm.LEAD_PROVIDER,
     [(THAMES, L), (CAFE, S)], ["HCK"], 1_450_000, -40, 42, True, False,
     [("smi-settled-accom", "55", "60", "5")]),
    ("NWL-MH-001", "North West London secondary mental-health services", NWL, ContractForm.SINGLE,
     [(WESTWAY, L)], ["ICS:NWL"], 96_000_000, -26, 60, True, True,
     [("readmit-30d", "13", "10", "1"), ("followup-72h", "72", "80", "1")]),
    ("NWL-MH-002", "Ealing recovery housing pathway", "Ealing Council", ContractForm.LEAD_PROVIDER,
     [(PATHWAYS, L), (WELLBEING, S)], ["EAL", "BRT", "HRW"], 2_100_000, -12, 36, True, True,
     [("smi-settled-accom", "50", "58", "8")]),
    ("SEL-MH-001", "South East London mental-health alliance", SEL_PARTNERSHIP, ContractForm.ALLIANCE,
     [(SOUTHRIVER, A), (SAFE_HAVEN, A), (PEER, A), (SOUTHWARK_GP, A)], ["ICS:SEL"], 58_000_000, -18, 60, True, True,
     [("smi-physical-check", "40", "60", "4"), ("carer-assessment", "30", "50", "2"),
      ("restraint-rate", "30", "20", "4")]),
    ("SEL-MH-002", "Lambeth supported housing for recovery", "Lambeth Council", ContractForm.SINGLE,
     [(SAFE_HAVEN, L)], ["LAM"], 1_900_000, -47, 48, True, True, []),
    ("SEL-MH-003", "Croydon community wellbeing", "Croydon Council", ContractForm.SINGLE,
     [(PEER, L)], ["CRD"], 380_000, 1, 24, False, False, [("wellbeing-score", "23", "24", "10")]),
    ("SWL-MH-001", "South West London dementia assessment", SWL, ContractForm.LEAD_PROVIDER,
     [(WANDLE, L), (KINGSWAY, S)], ["ICS:SWL"], 7_600_000, -31, 36, True, False,
     [("dementia-diagnosis", "62", "67", "5")]),
    ("SWL-MH-002", "Kingston and Richmond supported living", SWL, ContractForm.SINGLE,
     [(KINGSWAY, L)], ["KNG", "RCH", "MRT"], 3_250_000, -8, 36, True, True, []),
]  # fmt: skip


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


def seed(today: dt.date | None = None) -> tuple[int, int]:
    """Create the demo partnerships, contracts and measures. Returns (new partnerships, new contracts)."""
    if Partnership.objects.filter(name=PAN_LONDON).exists():
        return 0, 0
    today = today or timezone.localdate()
    orgs = {o.name: o for o in Organisation.objects.all()}
    if NCL not in orgs:  # the stakeholders demo has not run
        return 0, 0
    councils = [orgs[n] for n in ("Camden Council", "Hackney Council", "Lambeth Council", "Croydon Council")]
    partnerships = {
        PAN_LONDON: services.partnership_create(
            actor=None,
            name=PAN_LONDON,
            scope=PartnershipScope.PAN_LONDON,
            lead=orgs[NCL],
            members=[orgs[n] for n in (NEL, NWL, SEL, SWL)] + councils,
            terms_of_reference=TERMS,
        ),
        NCL_PARTNERSHIP: services.partnership_create(
            actor=None,
            name=NCL_PARTNERSHIP,
            scope=PartnershipScope.SUB_REGION,
            sub_region=Area.objects.get(short_code="NCL"),
            lead=orgs[NCL],
            members=[orgs["Camden Council"]],
            terms_of_reference=TERMS,
        ),
        SEL_PARTNERSHIP: services.partnership_create(
            actor=None,
            name=SEL_PARTNERSHIP,
            scope=PartnershipScope.SUB_REGION,
            sub_region=Area.objects.get(short_code="SEL"),
            lead=orgs[SEL],
            members=[orgs["Lambeth Council"], orgs["Croydon Council"]],
            terms_of_reference=TERMS,
        ),
    }
    # Meetings, proposals, stances and outcomes: commissioning/decisions/demo.py (seed_demo runs it next).
    indicators = {i.code: i for i in Indicator.objects.filter(is_synthetic_demo=True)}
    created = 0
    for ref, title, commissioner, form, providers, specs, pounds, start, months, agreed, publish, measures in CONTRACTS:
        start_date = add_months(today.replace(day=1), start)
        contract = services.contract_create(
            actor=None,
            reference=ref,
            title=title,
            service_description=f"{title}. Synthetic demo contract: the parties and figures are invented.",
            commissioner_organisation=orgs.get(commissioner),
            commissioner_partnership=partnerships.get(commissioner),
            form=form,
            providers=[(orgs[name], role) for name, role in providers],
            boroughs=_boroughs(specs),
            annual_value_pence=pounds * 100,
            start_date=start_date,
            end_date=add_months(start_date, months) - dt.timedelta(days=1),
            agreed=agreed,
            publishable=publish,
        )
        created += 1
        for code, baseline, target, share in measures:
            if code in indicators:
                services.measure_create(
                    actor=None,
                    contract=contract,
                    indicator=indicators[code],
                    baseline=Decimal(baseline),
                    target=Decimal(target),
                    share_bp=int(Decimal(share) * 100),
                )
    return len(partnerships), created
