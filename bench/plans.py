"""Plan-list benchmark: one user's permission-filtered plan list against an unfiltered page.

    .venv/bin/python bench/plans.py [--plans 10000] [--grants 100000] [--repeat 30] [--database londonmh_bench_plans]

On a scratch database it creates, migrates and drops:

1. --plans plans (30% public and out of draft, the rest partners-only or drafts), 2,000
   people in 200 organisations (each an auth group, 3 memberships per person), and
   --grants object-permission rows in guardian's direct foreign-key tables (two thirds to
   people, one third to organisations), spread at random over the plans.
2. The person measured is an ordinary member of three organisations with their share of
   grants. Their list is what the Plans page runs: ``selectors.plan_list(user=...)`` (public
   plans, or plans granted to them or their organisations), a COUNT for the pager, the first
   page of 20 with lead organisations, areas and action summaries.
3. The baseline is the same page of the same size with no permission filter at all
   (``Plan.objects.all()`` with the same joins), in the same run.

It prints the median of --repeat runs of each and ratio = filtered / unfiltered (target <= 2),
plus the page at offset 2,000 (a deep page) the same way. DATABASE_URL names the server (any
database on it); without it the machine's PostgreSQL on 127.0.0.1:5432 is used.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PAGE = 20


def _say(message: str) -> None:
    print(message, flush=True)


def _server_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(_with_database(_server_url(), "postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = _with_database(_server_url(), database)
    os.environ["DEBUG"] = "false"  # DEBUG would keep every SQL statement in memory
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ["CACHE_KEY_PREFIX"] = f"bench:{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "londonmh.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _populate(plans: int, grants: int, rng: random.Random):  # type: ignore[no-untyped-def]
    import datetime as dt

    from django.contrib.auth.models import Group, Permission
    from django.db import connection, transaction

    from actionplan.models import (
        Action,
        KeyStep,
        Plan,
        PlanGroupObjectPermission,
        PlanUserObjectPermission,
    )
    from stakeholders.models import Membership, Organisation, Role, User

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
        statuses = ["draft", "consultation", "active", "closed"]
        plan_rows = []
        for i in range(plans):
            public = rng.random() < 0.3
            plan_rows.append(
                Plan(
                    title=f"Bench plan {i:05d}",
                    slug=f"bench-plan-{i}",
                    lead_organisation=rng.choice(orgs),
                    period_start=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 2000)),
                    period_end=dt.date(2031, 1, 1),
                    status=rng.choice(statuses[1:]) if public else rng.choice(statuses),
                    visibility="public" if public else "partners",
                )
            )
        all_plans = Plan.objects.bulk_create(plan_rows, batch_size=2000)
        steps = list(KeyStep.objects.all())
        Action.objects.bulk_create(
            (
                Action(
                    plan=p,
                    key_step=rng.choice(steps),
                    title="a",
                    owner_organisation=p.lead_organisation,
                    progress=rng.randrange(0, 100),
                )
                for p in all_plans
                for _ in range(3)
            ),
            batch_size=5000,
        )
        perms = list(
            Permission.objects.filter(
                content_type__app_label="actionplan",
                codename__in=["view_plan", "comment_plan", "change_plan", "manage_plan"],
            )
        )
        # Distinct rows (the tables are unique on who, permission, plan) until there are exactly --grants.
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


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: plans, caches, connections
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", default="londonmh_bench_plans")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    _admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{args.database}"')
    try:
        _setup_django(args.database)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = random.Random(5)
        start = time.perf_counter()
        user = _populate(args.plans, args.grants, rng)
        _say(f"populated {args.plans:,} plans and {args.grants:,} grant rows in {time.perf_counter() - start:.1f} s")
        _measure(user, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def _measure(user, repeat: int) -> None:  # type: ignore[no-untyped-def]
    from django.core.paginator import Paginator

    from actionplan import selectors
    from actionplan.models import Plan, PlanGroupObjectPermission, PlanUserObjectPermission
    from stakeholders.models import User

    user = User.objects.get(pk=user.pk)
    mine = PlanUserObjectPermission.objects.filter(user=user).count()
    theirs = PlanGroupObjectPermission.objects.filter(group__user=user).count()
    visible = selectors.plan_list(user=user).count()
    rows = PlanUserObjectPermission.objects.count() + PlanGroupObjectPermission.objects.count()
    _say(
        f"user: {mine} own grants, {theirs} through 3 organisations; sees {visible:,} of "
        f"{Plan.objects.count():,} plans ({rows:,} grant rows)"
    )

    def unfiltered():  # type: ignore[no-untyped-def]
        return (
            Plan.objects.select_related("lead_organisation")
            .prefetch_related("areas")
            .order_by("-period_start", "title", "id")
        )

    def page_of(queryset_fn, number: int) -> Callable[[], object]:  # type: ignore[no-untyped-def]
        def run() -> object:
            page = Paginator(queryset_fn(), PAGE).get_page(number)
            plans = list(page.object_list)
            selectors.plan_summaries(plans)
            return page.paginator.count, len(plans)

        return run

    def filtered():  # type: ignore[no-untyped-def]
        return selectors.plan_list(user=User.objects.get(pk=user.pk))

    for label, number in (("first page", 1), ("page 100 (offset 1,980)", 100)):
        base = _median_ms(page_of(unfiltered, number), repeat)
        mine_ms = _median_ms(page_of(filtered, number), repeat)
        _say(
            f"{label}: unfiltered {base:.2f} ms, permission-filtered {mine_ms:.2f} ms, "
            f"ratio {mine_ms / base:.2f} (target <= 2)"
        )


if __name__ == "__main__":
    main()
