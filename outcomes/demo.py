"""The demo indicator catalogue and synthetic values. Every figure made here is invented.

The indicators are modelled on real mental-health measures so the demo reads true, but the
values are generated from fixed seeds: never quote them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator

from outcomes.breakdowns import NOT_KNOWN, Breakdown
from outcomes.models import Measure, PeriodType, Polarity, period_label
from outcomes.periods import recent_periods

M, P, R, N = Measure.COUNT, Measure.PROPORTION, Measure.RATE, Measure.MEAN
HI, LO, NJ = Polarity.HIGHER_BETTER, Polarity.LOWER_BETTER, Polarity.NO_JUDGEMENT
MONTH, QUARTER, YEAR = PeriodType.MONTH, PeriodType.QUARTER, PeriodType.YEAR

# code, name, measure, polarity, period type, unit, numerator definition, denominator definition, definition
INDICATORS: list[tuple[str, str, str, str, str, str, str, str, str]] = [
    (
        "tt-recovery",
        "Talking therapies recovery rate",
        P,
        HI,
        MONTH,
        "%",
        "People who moved to recovery",
        "People who finished a course of treatment and were at caseness",
        "Share of people finishing NHS Talking Therapies treatment who moved to recovery.",
    ),
    (
        "tt-access",
        "Talking therapies courses started",
        M,
        HI,
        MONTH,
        "people",
        "Referrals entering treatment",
        "",
        "People starting a course of NHS Talking Therapies treatment in the month.",
    ),
    (
        "tt-wait-6wk",
        "Talking therapies first treatment within 6 weeks",
        P,
        HI,
        MONTH,
        "%",
        "Referrals treated within 6 weeks",
        "Referrals starting treatment",
        "Share of people who started treatment within six weeks of referral.",
    ),
    (
        "smi-contact-rate",
        "People in contact with secondary mental-health services",
        R,
        NJ,
        QUARTER,
        "per 100,000",
        "People in contact at the end of the quarter",
        "Resident population",
        "People in contact with secondary mental-health services per 100,000 residents.",
    ),
    (
        "oap-inappropriate",
        "Inappropriate out-of-area placements (bed days)",
        M,
        LO,
        MONTH,
        "bed days",
        "Bed days in inappropriate out-of-area placements",
        "",
        "Bed days spent by patients placed out of area when they could have been cared for locally.",
    ),
    (
        "crisis-24h",
        "Urgent crisis referrals seen within 24 hours",
        P,
        HI,
        MONTH,
        "%",
        "Urgent referrals seen within 24 hours",
        "Urgent referrals to crisis teams",
        "Share of urgent referrals to crisis resolution and home treatment teams seen within 24 hours.",
    ),
    (
        "smi-employment",
        "People in contact with secondary services in employment",
        P,
        HI,
        QUARTER,
        "%",
        "Adults in contact in paid employment",
        "Adults in contact with a recorded employment status",
        "Employment among adults aged 18-69 in contact with secondary mental-health services.",
    ),
    (
        "smi-settled-accom",
        "People in contact with secondary services in settled accommodation",
        P,
        HI,
        QUARTER,
        "%",
        "Adults in settled accommodation",
        "Adults with a recorded accommodation status",
        "Settled accommodation among adults in contact with secondary mental-health services.",
    ),
    (
        "suicide-rate",
        "Suicide rate",
        R,
        LO,
        YEAR,
        "per 100,000",
        "Deaths from suicide and injury of undetermined intent",
        "Resident population",
        "Deaths registered as suicide or injury of undetermined intent per 100,000 residents.",
    ),
    (
        "wellbeing-score",
        "Mental wellbeing score (SWEMWBS)",
        N,
        HI,
        YEAR,
        "score",
        "Sum of respondents' short Warwick-Edinburgh scores",
        "Respondents",
        "Mean short Warwick-Edinburgh Mental Wellbeing Scale score among surveyed adults.",
    ),
    (
        "smi-physical-check",
        "People with severe mental illness receiving a full physical health check",
        P,
        HI,
        QUARTER,
        "%",
        "People on the SMI register with all six checks",
        "People on the SMI register",
        "Share of people with severe mental illness who had all six physical health checks in 12 months.",
    ),
    (
        "cyp-access",
        "Children and young people accessing mental-health support",
        M,
        HI,
        MONTH,
        "people",
        "Children and young people with at least one contact",
        "",
        "Children and young people aged under 18 receiving at least one contact from funded services.",
    ),
    (
        "eip-2wk",
        "Early intervention in psychosis: treatment within 2 weeks",
        P,
        HI,
        MONTH,
        "%",
        "Referrals starting treatment within two weeks",
        "Referrals starting treatment",
        "Share of people with a first episode of psychosis starting treatment within two weeks.",
    ),
    (
        "s136-detentions",
        "Section 136 detentions",
        R,
        LO,
        QUARTER,
        "per 100,000",
        "Detentions under section 136 of the Mental Health Act",
        "Resident population",
        "Police detentions to a place of safety under section 136 per 100,000 residents.",
    ),
    (
        "readmit-30d",
        "Emergency readmissions within 30 days of discharge",
        P,
        LO,
        QUARTER,
        "%",
        "Discharges followed by an emergency readmission within 30 days",
        "Discharges from adult acute beds",
        "Share of discharges from adult mental-health beds followed by readmission within 30 days.",
    ),
    (
        "followup-72h",
        "Follow-up within 72 hours of discharge",
        P,
        HI,
        MONTH,
        "%",
        "Discharges followed up within 72 hours",
        "Discharges from adult acute beds",
        "Share of people discharged from adult mental-health beds followed up within 72 hours.",
    ),
    (
        "perinatal-access",
        "Women accessing specialist perinatal mental-health services",
        M,
        HI,
        QUARTER,
        "people",
        "Women with at least one contact",
        "",
        "Women accessing specialist community perinatal mental-health services.",
    ),
    (
        "dementia-diagnosis",
        "Estimated dementia diagnosis rate (65+)",
        P,
        HI,
        YEAR,
        "%",
        "People aged 65+ with a recorded diagnosis",
        "Estimated prevalence aged 65+",
        "Recorded diagnoses of dementia as a share of estimated prevalence among people aged 65 and over.",
    ),
    (
        "carer-assessment",
        "Carers of people with mental illness offered an assessment",
        P,
        HI,
        QUARTER,
        "%",
        "Carers offered an assessment",
        "Carers identified",
        "Share of identified carers of people in contact with services who were offered a carer's assessment.",
    ),
    (
        "dialog-score",
        "Patient-reported quality of life (DIALOG) at review",
        N,
        HI,
        QUARTER,
        "score",
        "Sum of DIALOG mean item scores",
        "People reviewed",
        "Mean DIALOG score (1 to 7) at the latest review of people in community mental-health care.",
    ),
    (
        "restraint-rate",
        "Restrictive interventions in inpatient units",
        R,
        LO,
        QUARTER,
        "per 100,000",
        "Restrictive interventions recorded",
        "Resident population",
        "Recorded restrictive interventions per 100,000 residents.",
    ),
]

# Typical level of each indicator, to make plausible synthetic values: for proportions the
# share, for counts and rates the count per 100,000 residents in the period, for means the score.
TYPICAL = {
    "tt-recovery": 0.50,
    "tt-access": 110,
    "tt-wait-6wk": 0.89,
    "smi-contact-rate": 2400,
    "oap-inappropriate": 9,
    "crisis-24h": 0.72,
    "smi-employment": 0.08,
    "smi-settled-accom": 0.58,
    "suicide-rate": 7.5,
    "wellbeing-score": 23.7,
    "smi-physical-check": 0.55,
    "cyp-access": 45,
    "eip-2wk": 0.68,
    "s136-detentions": 22,
    "readmit-30d": 0.09,
    "followup-72h": 0.81,
    "perinatal-access": 30,
    "dementia-diagnosis": 0.66,
    "carer-assessment": 0.42,
    "dialog-score": 4.6,
    "restraint-rate": 40,
}


# Reported by NHS financial quarter (April start), as NHS England publishes physical health checks
# for people with severe mental illness: 2025-26 Q1 is April to June 2025.
FINANCIAL_QUARTER_CODES = frozenset({"smi-physical-check"})


def synthetic_rows(
    indicator_code: str,
    measure: str,
    period_type: str,
    boroughs: list[tuple[str, int]],
    today: dt.date,
    seed: str,
    label: Callable[[dt.date], str] | None = None,
) -> Iterator[dict[str, str]]:
    """Rows for one provider: (GSS code, population) boroughs, a few periods, fixed seed."""
    count = {MONTH: 12, QUARTER: 6, YEAR: 3}[period_type]
    typical = TYPICAL[indicator_code]
    rng = random.Random(f"{seed}:{indicator_code}")  # noqa: S311 - synthetic demo data, not security
    for code, population in boroughs:
        borough_effect = rng.uniform(0.8, 1.2)
        for start in recent_periods(period_type, today, count):
            trend = 1 + 0.01 * rng.uniform(-2, 3)
            if measure == P:
                den = max(5, int(population / 100_000 * rng.uniform(40, 400)))
                num = min(den, max(0, round(den * min(0.99, typical * borough_effect * trend))))
                yield _row(indicator_code, code, period_type, start, num, den, label)
            elif measure == N:
                den = max(5, int(population / 100_000 * rng.uniform(30, 120)))
                score = typical * borough_effect * trend
                yield _row(indicator_code, code, period_type, start, round(score * den, 2), den, label)
            else:
                expected = typical * borough_effect * trend * population / 100_000 / 5
                num = max(0, round(rng.gauss(expected, max(1.0, expected**0.5))))
                yield _row(indicator_code, code, period_type, start, num, None, label)


def _row(
    code: str,
    gss: str,
    period_type: str,
    start: dt.date,
    num: float,
    den: int | None,
    label: Callable[[dt.date], str] | None = None,
) -> dict[str, str]:
    return {
        "indicator_code": code,
        "borough_code": gss,
        "period": label(start) if label else period_label(period_type, start),
        "numerator": str(num),
        "denominator": "" if den is None else str(den),
        "note": "synthetic demo value",
    }


# Synthetic breakdowns ------------------------------------------------------------------------
# Five demo indicators are also reported by population group. The splits are invented, but
# shaped like the published London patterns they stand for:
# - detentions under the Mental Health Act (s136): Black Londoners detained at about 3.5 times
#   the White rate (NHS England, Mental Health Act statistics), Mixed and Other groups between;
# - talking therapies recovery: lower in more deprived neighbourhoods (IMD quintile 1);
# - children and young people's access: by age band and sex (more girls than boys in their teens);
# - talking therapies courses started: by ethnic group, lower for Asian and Black Londoners
#   than their share of residents;
# - early intervention in psychosis within 2 weeks: by sex.

# Indicator code -> (breakdowns, age bands)
DEMO_BREAKDOWNS: dict[str, tuple[list[str], list[str]]] = {
    "s136-detentions": ([Breakdown.ETHNICITY], []),
    "tt-recovery": ([Breakdown.DEPRIVATION], []),
    "cyp-access": ([Breakdown.AGE, Breakdown.SEX], ["0-11", "12-17"]),
    "tt-access": ([Breakdown.ETHNICITY], []),
    "eip-2wk": ([Breakdown.SEX], []),
}

# London's residents by ethnic group (Census 2021, rounded): the demo's group populations.
LONDON_ETHNICITY = {"asian": 0.207, "black": 0.135, "mixed": 0.057, "white": 0.538, "other": 0.063}

# (indicator, breakdown) -> group -> (share of the people counted, or of the denominator for a
# proportion; the group's level relative to the others). A count's share is weighted by its level;
# a proportion's group level multiplies the headline proportion.
GROUP_PROFILES: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
    ("s136-detentions", Breakdown.ETHNICITY): {
        **{
            g: (share, level)
            for (g, share), level in zip(LONDON_ETHNICITY.items(), (0.8, 3.5, 2.0, 1.0, 1.9), strict=True)
        },
        NOT_KNOWN: (0.04, 1.0),
    },
    ("tt-access", Breakdown.ETHNICITY): {
        **{
            g: (share, level)
            for (g, share), level in zip(LONDON_ETHNICITY.items(), (0.75, 0.8, 1.1, 1.1, 0.9), strict=True)
        },
        NOT_KNOWN: (0.05, 1.0),
    },
    ("tt-recovery", Breakdown.DEPRIVATION): {
        "q1": (0.17, 0.84),
        "q2": (0.29, 0.92),
        "q3": (0.24, 1.0),
        "q4": (0.18, 1.07),
        "q5": (0.12, 1.13),
    },
    ("cyp-access", Breakdown.AGE): {"0-11": (0.33, 1.0), "12-17": (0.63, 1.0), NOT_KNOWN: (0.04, 1.0)},
    ("cyp-access", Breakdown.SEX): {"female": (0.56, 1.0), "male": (0.42, 1.0), NOT_KNOWN: (0.02, 1.0)},
    ("eip-2wk", Breakdown.SEX): {"female": (0.39, 1.03), "male": (0.59, 0.98), NOT_KNOWN: (0.02, 1.0)},
}


def _allocate(total: int, weights: dict[str, float], caps: dict[str, int] | None = None) -> dict[str, int]:
    """Whole numbers in proportion to the weights that add up to `total` (largest remainder),
    none above its cap (what a cap refuses goes to the others, in proportion)."""
    out = dict.fromkeys(weights, 0)
    left, open_ = total, dict(weights)
    while left > 0 and open_:
        whole = sum(open_.values()) or 1.0
        exact = {g: left * w / whole for g, w in open_.items()}
        share = {g: int(x) for g, x in exact.items()}
        for g in sorted(exact, key=lambda g: exact[g] - share[g], reverse=True)[: left - sum(share.values())]:
            share[g] += 1
        left = 0
        for g, n in share.items():
            room = caps[g] - out[g] if caps else n
            out[g] += min(n, room)
            left += n - min(n, room)
        if caps:
            open_ = {g: w for g, w in open_.items() if out[g] < caps[g]}
    return out


def synthetic_group_rows(row: dict[str, str], measure: str, seed: str) -> Iterator[dict[str, str]]:
    """The group rows of one synthetic headline row (none for indicators without breakdowns):
    counts and rates split so that each breakdown's groups add up to the headline; proportions
    split the denominator by share and the numerator by share and level, adding up likewise."""
    code = row["indicator_code"]
    if code not in DEMO_BREAKDOWNS:
        return
    rng = random.Random(f"{seed}:{code}:{row['borough_code']}:{row['period']}:groups")  # noqa: S311 - demo data
    num = int(float(row["numerator"]))
    for breakdown in DEMO_BREAKDOWNS[code][0]:
        profile = GROUP_PROFILES[(code, breakdown)]
        jitter = {g: rng.uniform(0.85, 1.15) for g in profile}
        if measure == P:
            dens = _allocate(int(row["denominator"]), {g: s * jitter[g] for g, (s, _) in profile.items()})
            nums = _allocate(num, {g: dens[g] * level * jitter[g] for g, (_, level) in profile.items()}, caps=dens)
        else:
            dens = {}
            nums = _allocate(num, {g: s * level * jitter[g] for g, (s, level) in profile.items()})
        for group in profile:
            if measure == P and not dens[group]:
                continue  # no one in the group this period: nothing to report
            yield {
                **row,
                "numerator": str(nums[group]),
                "denominator": str(dens[group]) if measure == P else "",
                "breakdown": breakdown,
                "group": group,
            }


def _declare_breakdowns() -> None:
    """The demo indicators' breakdowns (also on a demo site seeded before they existed)."""
    from outcomes.models import Indicator

    for code, (breakdowns, bands) in DEMO_BREAKDOWNS.items():
        Indicator.objects.filter(code=code, is_synthetic_demo=True, breakdowns=[]).update(
            breakdowns=list(breakdowns), age_bands=bands
        )


def _seed_group_populations(year: int = 2021) -> None:
    """Residents by ethnic group for every area with a population: London's Census 2021 shares
    (a synthetic split, labelled so), so that detention rates by ethnic group have denominators."""
    from outcomes.models import Population

    headline = Population.objects.filter(year=year, breakdown="", population_group="").select_related("area")
    Population.objects.bulk_create(
        [
            Population(
                area=p.area,
                year=year,
                breakdown=Breakdown.ETHNICITY,
                population_group=group,
                population=round(p.population * share),
                source="Synthetic demo split of Census 2021 by London's ethnic mix (not real)",
            )
            for p in headline
            for group, share in LONDON_ETHNICITY.items()
        ],
        ignore_conflicts=True,
    )


def seed(today: dt.date | None = None) -> tuple[int, int]:
    """Create the demo catalogue, populations and synthetic values (idempotent).

    Values go through the same import pipeline as real ones, submitted by a demo data team
    at each NHS mental-health provider; all but the latest period are then marked approved
    so dashboards have figures and the review queue still has work. Returns (new indicators,
    new values).
    """
    from django.conf import settings
    from django.db.models import Max
    from django.utils import timezone

    from outcomes import services
    from outcomes.models import Door, Indicator, OutcomeValue, ValueStatus
    from stakeholders import services as stakeholder_services
    from stakeholders.demo import DEMO_EMAIL_DOMAIN
    from stakeholders.models import Organisation, OrganisationType, Role, User

    today = today or timezone.localdate()
    new_indicators = 0
    for code, name, measure, polarity, period_type, unit, num_def, den_def, definition in INDICATORS:
        _, created = Indicator.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "measure": measure,
                "polarity": polarity,
                "period_type": period_type,
                "financial_quarters": code in FINANCIAL_QUARTER_CODES,
                "unit": unit,
                "numerator_definition": num_def,
                "denominator_definition": den_def,
                "definition": definition,
                "data_source": "Synthetic demo data",
                "is_synthetic_demo": True,
                "rationale": "Part of the demo catalogue: modelled on a published mental-health measure.",
            },
        )
        new_indicators += created
    # A demo site seeded before financial quarters existed gets them too (before any values).
    if not OutcomeValue.objects.filter(indicator__code__in=FINANCIAL_QUARTER_CODES).exists():
        Indicator.objects.filter(code__in=FINANCIAL_QUARTER_CODES, period_type=QUARTER).update(financial_quarters=True)
    services.populations_seed_from_census()
    _declare_breakdowns()
    _seed_group_populations()
    if OutcomeValue.objects.filter(indicator__is_synthetic_demo=True).exists():
        return new_indicators, 0
    before = OutcomeValue.objects.count()
    indicators = {i.code: i for i in Indicator.objects.filter(is_synthetic_demo=True)}
    for org in Organisation.objects.filter(type=OrganisationType.NHS_MH_PROVIDER).order_by("name"):
        email = f"data.{org.slug}@{DEMO_EMAIL_DOMAIN}"[:254]
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=settings.DEMO_PASSWORD, display_name=f"{org.name} data team (demo)"
        )
        stakeholder_services.membership_add(actor=None, user=user, organisation=org, role=Role.DATA_SUBMITTER)
        boroughs = list(org.boroughs.values_list("code", "population"))

        def rows(org=org, boroughs=boroughs):  # type: ignore[no-untyped-def]
            for code, indicator in indicators.items():
                for row in synthetic_rows(
                    code,
                    indicator.measure,
                    indicator.period_type,
                    boroughs,
                    today,
                    org.slug,
                    label=indicator.period_label,
                ):
                    yield row
                    yield from synthetic_group_rows(row, indicator.measure, org.slug)

        services.submission_create(
            actor=user, organisation=org, door=Door.API, rows=rows(), filename="synthetic demo data", run_inline=True
        )
    latest = dict(
        OutcomeValue.objects.values("indicator_id")
        .annotate(last=Max("period_start"))
        .values_list("indicator_id", "last")
    )
    for indicator_id, last in latest.items():
        OutcomeValue.objects.filter(indicator_id=indicator_id, period_start__lt=last).update(
            status=ValueStatus.APPROVED, reviewed_at=timezone.now()
        )
    _demo_reviews(latest)
    # The approvals above bypass the review service, so rebuild the dashboards' metrics here.
    from outcomes.aggregation import metrics_rebuild_all

    metrics_rebuild_all()
    return new_indicators, OutcomeValue.objects.count() - before


# Queries and rejections in the latest period, with reasons a commissioner would give (the
# provider's submitters are told, as by the review queue).
DEMO_QUERIES = [
    (
        "commissioner",
        "Barnet",
        "query",
        "This is a long way from last month's figure. Please check it against your system.",
    ),
    (
        "commissioner",
        "Enfield",
        "query",
        "Does this include people seen only by the crisis line? The definition leaves them out.",
    ),
    (
        "la.commissioner",
        "Camden",
        "reject",
        "These figures include Islington residents; please send Camden residents only.",
    ),
]


def _demo_reviews(latest: dict[int, dt.date]) -> None:
    """Who approved the demo's past values, and a few queries and rejections on the latest ones.

    Camden is commissioned by both the NCL ICB and Camden Council: its values are approved by
    either, as in life, and each value says who did and for which organisation.
    """
    from django.db.models import Q

    from outcomes import services
    from outcomes.models import OutcomeValue, ValueStatus
    from stakeholders.demo import DEMO_EMAIL_DOMAIN
    from stakeholders.models import COMMISSIONER_TYPES, Membership, OrganisationType, Role, User

    memberships = (
        Membership.objects.filter(role=Role.COMMISSIONER, organisation__type__in=list(COMMISSIONER_TYPES))
        .select_related("organisation", "user")
        .order_by("-organisation__type", "organisation__name", "user_id")  # councils first: then the ICBs
    )
    for membership in memberships:
        approved = OutcomeValue.objects.filter(
            status=ValueStatus.APPROVED, reviewed_by__isnull=True, borough__in=membership.organisation.boroughs.all()
        )
        if membership.organisation.type != OrganisationType.ICB_COMMISSIONER:
            approved = approved.filter(period_start__month__in=[1, 4, 7, 10])  # the council reviews some months
        approved.update(reviewed_by=membership.user, reviewed_for=membership.organisation)
    for local, borough, action, reason in DEMO_QUERIES:
        reviewer = User.objects.filter(email=f"{local}@{DEMO_EMAIL_DOMAIN}").first()
        if reviewer is None:
            continue
        last = Q()
        for indicator_id, period in latest.items():
            last |= Q(indicator_id=indicator_id, period_start=period)
        ids = list(
            OutcomeValue.objects.filter(last, borough__name=borough, status=ValueStatus.SUBMITTED)
            .order_by("indicator__name", "organisation__name")
            .values_list("pk", flat=True)[:2]
        )
        status = ValueStatus.QUERIED if action == "query" else ValueStatus.REJECTED
        services.outcome_values_review(actor=reviewer, value_ids=ids, status=status, message=reason)
