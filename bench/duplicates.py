"""Duplicates benchmark: one user's permission-filtered candidate pairs against the same query unfiltered.

    .venv/bin/python bench/duplicates.py [--actions 20000] [--plans 1000] [--repeat 5] [--database londonmh_bench_dups]

On a scratch database it creates, migrates and drops:

1. --plans plans (30% public and out of draft, the rest partners-only or drafts; 5% pan-London,
   25% an ICS sub-region, the rest one to three boroughs) and --actions actions spread over
   them, each with one or two of the priority areas. Titles are composed from London
   mental-health work and a local project name ("Open an evening crisis café in Camden: the
   Talvor project"): the work words are common (each in hundreds of titles), the names rare (a
   few titles each), so a few pairs read alike and share a rare word and most do not.
2. 2,000 people in 200 organisations and 30,000 grant rows, as bench/plans.py; the person
   measured is an ordinary member of three organisations with their share of grants.
3. Timed: the first page of that person's candidate pairs, what /plans/duplicates/ runs
   (``actionplan.duplicates.selectors.candidate_rows``: one statement, permission filter
   inside), against the same statement with no permission filter (every plan), in the same run.

It prints the median of --repeat runs of each and ratio = filtered / unfiltered (target <= 2).
DATABASE_URL names the server (any database on it); without it the machine's PostgreSQL on
127.0.0.1:5432 is used.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plans import _admin, _median_ms, _say, _setup_django

VERBS = ["Open", "Commission", "Expand", "Pilot", "Fund", "Set up", "Co-produce", "Extend", "Review", "Integrate"]
SERVICES = [
    "an evening crisis café",
    "a crisis line linked to NHS 111",
    "peer support workers in crisis teams",
    "mental health support teams in schools",
    "a perinatal mental health outreach service",
    "talking therapies in housing offices",
    "step-down beds in supported housing",
    "tenancy sustainment workers",
    "a community mental health hub",
    "an employment support service for people with SMI",
    "physical health checks for people with SMI",
    "a suicide prevention partnership",
    "section 136 suites with the police",
    "a young people's advisory panel",
    "an eating disorders early intervention service",
    "a carers' support network",
    "wellbeing hubs on estates",
    "an 18-25 transition service",
    "dementia navigators in primary care",
    "a lived-experience leadership programme",
]
SENTENCES = [
    "Run with the voluntary sector and people with lived experience.",
    "Open in the evenings and at weekends, when other services are closed.",
    "Staffed by peer workers and a mental health nurse.",
    "An alternative to emergency departments for people in crisis.",
    "Commissioned jointly by the NHS and the councils.",
    "Evaluated after a year against the plan's indicators.",
    "Targeted at communities who use services least.",
    "Linked to the borough's housing and employment teams.",
    "Self-referral by phone, online or in person.",
    "Shared records with the GP and the community team.",
]


SYLLABLES = [
    "al",
    "bar",
    "cor",
    "den",
    "el",
    "fen",
    "gar",
    "hol",
    "ist",
    "jor",
    "kel",
    "lin",
    "mor",
    "nor",
    "ost",
    "pel",
    "quin",
    "ros",
    "sel",
    "tal",
    "ur",
    "vor",
    "wen",
    "yar",
    "zel",
]


def _project_names(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.sample(SYLLABLES, 3)).capitalize())
    return sorted(names)


def _populate(n_actions: int, n_plans: int, rng: random.Random):  # type: ignore[no-untyped-def]
    import datetime as dt

    from django.contrib.auth.models import Group, Permission
    from django.db import connection, transaction

    from actionplan.models import Action, KeyStep, Plan, PlanGroupObjectPermission, PlanUserObjectPermission
    from outcomes.models import PriorityArea
    from stakeholders.models import Area, Membership, Organisation, Role, User

    with transaction.atomic():
        groups = Group.objects.bulk_create(Group(name=f"organisation:bench-{i}") for i in range(200))
        orgs = Organisation.objects.bulk_create(
            Organisation(name=f"Bench org {i}", slug=f"bench-org-{i}", type="icb", group=g)
            for i, g in enumerate(groups)
        )
        users = User.objects.bulk_create(
            User(email=f"bench{i}@example.org", display_name=f"Bench {i}", password="!")  # noqa: S106 - unusable
            for i in range(2000)
        )
        memberships, group_links = [], []
        for user in users:
            for org in rng.sample(orgs, 3):
                memberships.append(Membership(user=user, organisation=org, role=Role.COMMISSIONER))
                group_links.append(User.groups.through(user_id=user.pk, group_id=org.group_id))
        Membership.objects.bulk_create(memberships)
        User.groups.through.objects.bulk_create(group_links)

        boroughs = list(Area.objects.boroughs())
        sub_regions = list(Area.objects.sub_regions())
        plan_rows, plan_areas = [], []
        for i in range(n_plans):
            public = rng.random() < 0.3
            roll = rng.random()
            scope = "pan_london" if roll < 0.05 else "sub_region" if roll < 0.30 else "boroughs"
            plan_rows.append(
                Plan(
                    title=f"Bench plan {i:05d}",
                    slug=f"bench-plan-{i}",
                    scope=scope,
                    lead_organisation=rng.choice(orgs),
                    period_start=dt.date(2026, 4, 1),
                    period_end=dt.date(2029, 3, 31),
                    status=rng.choice(["consultation", "active"]) if public else rng.choice(["draft", "active"]),
                    visibility="public" if public else "partners",
                )
            )
        all_plans = Plan.objects.bulk_create(plan_rows, batch_size=2000)
        for plan in all_plans:
            if plan.scope == "sub_region":
                plan_areas.append(Plan.areas.through(plan_id=plan.pk, area_id=rng.choice(sub_regions).pk))
            elif plan.scope == "boroughs":
                for area in rng.sample(boroughs, rng.randint(1, 3)):
                    plan_areas.append(Plan.areas.through(plan_id=plan.pk, area_id=area.pk))
        Plan.areas.through.objects.bulk_create(plan_areas, batch_size=5000)

        steps = list(KeyStep.objects.all())
        areas = list(PriorityArea.objects.all())
        names = _project_names(rng, max(n_actions // 5, 10))
        actions = []
        for i in range(n_actions):
            plan = all_plans[i % n_plans]
            place = rng.choice(boroughs).name
            title = f"{rng.choice(VERBS)} {rng.choice(SERVICES)} in {place}: the {rng.choice(names)} project"
            actions.append(
                Action(
                    plan=plan,
                    key_step=rng.choice(steps),
                    title=title[:200],
                    description=" ".join(rng.sample(SENTENCES, 3)),
                    owner_organisation=plan.lead_organisation,
                    progress=rng.randrange(0, 100),
                )
            )
        actions = Action.objects.bulk_create(actions, batch_size=5000)
        Action.priority_areas.through.objects.bulk_create(
            (
                Action.priority_areas.through(action_id=a.pk, priorityarea_id=pa.pk)
                for a in actions
                for pa in rng.sample(areas, rng.randint(1, 2))
            ),
            batch_size=10000,
        )
        perms = list(
            Permission.objects.filter(
                content_type__app_label="actionplan",
                codename__in=["view_plan", "comment_plan", "change_plan", "manage_plan"],
            )
        )
        grants = 30_000
        user_rows: set[tuple[int, int, int]] = set()
        while len(user_rows) < grants * 2 // 3:
            user_rows.add((rng.choice(users).pk, rng.choice(perms).pk, rng.choice(all_plans).pk))
        group_rows: set[tuple[int, int, int]] = set()
        while len(group_rows) < grants - len(user_rows):
            group_rows.add((rng.choice(groups).pk, rng.choice(perms).pk, rng.choice(all_plans).pk))
        PlanUserObjectPermission.objects.bulk_create(
            (PlanUserObjectPermission(user_id=u, permission_id=p, content_object_id=o) for u, p, o in user_rows),
            batch_size=10000,
        )
        PlanGroupObjectPermission.objects.bulk_create(
            (PlanGroupObjectPermission(group_id=g, permission_id=p, content_object_id=o) for g, p, o in group_rows),
            batch_size=10000,
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return users[0]


def _measure(user, repeat: int) -> None:  # type: ignore[no-untyped-def]
    from actionplan.duplicates import selectors
    from actionplan.models import Action
    from actionplan.permissions import plans_visible_to
    from stakeholders.models import User

    user = User.objects.get(pk=user.pk)
    visible = plans_visible_to(user).count()
    seen = Action.objects.filter(plan__in=plans_visible_to(user)).count()
    _say(f"user: sees {visible:,} plans holding {seen:,} of {Action.objects.count():,} actions")

    def filtered() -> object:
        return selectors.candidate_rows(User.objects.get(pk=user.pk))

    def unfiltered() -> object:
        return selectors.candidate_rows(None)

    mine_rows, all_rows = filtered(), unfiltered()
    _say(
        f"candidate pairs: {mine_rows[0][-1] if mine_rows else 0:,} for the user, "
        f"{all_rows[0][-1] if all_rows else 0:,} with no permission filter"
    )
    base = _median_ms(unfiltered, repeat)
    mine = _median_ms(filtered, repeat)
    _say(
        f"first page of candidates: unfiltered {base:.1f} ms, permission-filtered {mine:.1f} ms, "
        f"ratio {mine / base:.2f} (target <= 2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=20_000)
    parser.add_argument("--plans", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="londonmh_bench_dups")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    _admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{args.database}"')
    try:
        _setup_django(args.database)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = random.Random(23)
        start = time.perf_counter()
        user = _populate(args.actions, args.plans, rng)
        _say(f"populated {args.plans:,} plans and {args.actions:,} actions in {time.perf_counter() - start:.1f} s")
        _measure(user, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
