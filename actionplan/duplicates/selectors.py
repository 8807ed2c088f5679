"""Finding candidate pairs of duplicated work, in one set-based query.

Two live (not retired) actions in plans the person may read are a candidate pair when

- their titles share a word that full-text search finds (English stemming, stop words left
  out) and that is not common: a word in more than :data:`COMMON_WORD_SHARE` of all live
  actions (at least :data:`COMMON_WORD_FLOOR`), like "mental" or "health", pairs nothing by
  itself. This is the blocking step: it keeps the self-join to pairs worth comparing, set-based
  (one hash join on words), where a trigram index probe per action took about 50 ms on
  20,000 actions, minutes in all (docs/performance.md);
- their titles are alike by pg_trgm's trigram similarity (``%`` and ``similarity()`` at
  :data:`SIMILARITY_THRESHOLD`, pg_trgm's default);
- they share at least one priority area, and
- their plans cover at least one borough in common (a pan-London plan covers every borough,
  a sub-region plan every borough in it, a borough plan the boroughs it names), and
- nobody dismissed the pair.

Descriptions are compared too (trigram similarity, and their words for "shared words") and
shown in the reason, but do not make a pair on their own: plans often describe every action
in the same few sentences.

Visibility is ``actionplan.permissions.plans_visible_to``'s queryset, compiled into the same
statement. Each pair carries why it matched: how alike the titles and descriptions are, the
priority areas and boroughs they share and the words full-text search found in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch, QuerySet
from psycopg2 import sql

from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, Plan, PlanScope
from actionplan.permissions import AnyUser, plans_visible_to, prefetch_plan_perms
from outcomes.models import PriorityArea
from stakeholders.models import Area

# pg_trgm's own default for ``%``; a pair must also reach it by similarity() (the ``%`` operator
# follows the server's pg_trgm.similarity_threshold setting, which a DBA may have changed).
SIMILARITY_THRESHOLD = 0.3
# A title word in more than this share of live actions (and more than the floor) is too common to pair on.
COMMON_WORD_SHARE = 0.01
COMMON_WORD_FLOOR = 50
# A description similarity the reason mentions.
DESCRIPTION_THRESHOLD = 0.5
# How many shared boroughs a reason names before "and N more".
REASON_BOROUGHS = 4
REASON_WORDS = 6
PAGE_SIZE = 20
# Stripped from the ends of a word before it is matched to a stem (curly quotes included).
PUNCTUATION = ".,;:!?()[]'\"*_\u201c\u201d\u2018\u2019"


@dataclass(frozen=True)
class CandidateFilters:
    """Optional narrowing of the candidates: a priority area both share, a borough both cover, a plan either is in."""

    priority_area: int | None = None
    borough: int | None = None
    plan: int | None = None


@dataclass
class CandidatePair:
    a: Action
    b: Action
    title_similarity: float
    description_similarity: float
    shared_areas: list[str]
    shared_boroughs: list[str]
    london_wide: bool
    shared_words: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.a.pk}-{self.b.pk}"

    @property
    def reasons(self) -> list[str]:
        """Why the pair matched, one clause each, in the order people weigh them."""
        parts = [f"titles {round(self.title_similarity * 100)}% alike"]
        if self.description_similarity >= DESCRIPTION_THRESHOLD:
            parts.append(f"descriptions {round(self.description_similarity * 100)}% alike")
        parts.append("both about " + _and_list(self.shared_areas))
        if self.london_wide:
            parts.append("both London-wide")
        else:
            names = self.shared_boroughs[:REASON_BOROUGHS]
            more = len(self.shared_boroughs) - len(names)
            parts.append("both in " + ", ".join(names) + (f" and {more} more" if more else ""))
        if self.shared_words:
            parts.append("shared words: " + ", ".join(self.shared_words[:REASON_WORDS]))
        return parts

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class CandidatePage:
    pairs: list[CandidatePair]
    total: int


def _and_list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _visible_plans_sql(user: AnyUser | None) -> tuple[sql.Composable, list]:
    """The ids of plans ``user`` may read, as SQL: ``plans_visible_to`` compiled (all plans for None)."""
    if user is None:
        return sql.SQL("SELECT id FROM actionplan_plan"), []
    query, params = plans_visible_to(user).order_by().values("id").query.sql_with_params()
    return sql.SQL(query), list(params)


def _candidates_sql(
    visible: sql.Composable, filters: CandidateFilters, *, count_only: bool
) -> tuple[sql.Composed, list]:
    """The candidate query: a self-join of live actions by trigram similarity, kept where the pair
    shares a word, a priority area and a borough. ``count_only`` answers the number of pairs."""
    params: list = [COMMON_WORD_FLOOR, COMMON_WORD_SHARE]
    plan_filter = sql.SQL("")
    if filters.plan is not None:
        plan_filter = sql.SQL("AND (x.plan_id = %s OR y.plan_id = %s)")
        params += [filters.plan, filters.plan]
    extra = []
    if filters.priority_area is not None:
        extra.append(sql.SQL("AND %s = ANY(areas.ids)"))
    if filters.borough is not None:
        extra.append(sql.SQL("AND %s = ANY(boroughs.ids)"))
    extra_params = [v for v in (filters.priority_area, filters.borough) if v is not None]
    body = sql.SQL(
        """
WITH vis AS MATERIALIZED ({visible}),
cover AS MATERIALIZED (
    SELECT p.id AS plan_id, ar.id AS area_id
      FROM actionplan_plan p
      JOIN stakeholders_area ar ON ar.level = 'borough'
     WHERE p.scope = 'pan_london' AND p.id IN (SELECT id FROM vis)
    UNION
    SELECT pa.plan_id, ar.id
      FROM actionplan_plan_areas pa
      JOIN actionplan_plan p ON p.id = pa.plan_id AND p.scope <> 'pan_london'
      JOIN stakeholders_area ar ON ar.level = 'borough' AND (ar.id = pa.area_id OR ar.parent_id = pa.area_id)
     WHERE pa.plan_id IN (SELECT id FROM vis)
),
words AS MATERIALIZED (
    SELECT a.id, a.plan_id, w.lexeme
      FROM actionplan_action a, unnest(to_tsvector('english', a.title)) w
     WHERE a.merged_into_id IS NULL
),
uncommon AS MATERIALIZED (
    SELECT lexeme FROM words GROUP BY lexeme
    HAVING count(*) <= GREATEST(%s, (SELECT count(DISTINCT id) FROM words) * %s)
),
blocked AS (
    SELECT DISTINCT x.id AS a_id, y.id AS b_id, x.plan_id AS a_plan, y.plan_id AS b_plan
      FROM words x
      JOIN uncommon u ON u.lexeme = x.lexeme
      JOIN words y ON y.lexeme = x.lexeme AND y.id > x.id
     WHERE x.plan_id IN (SELECT id FROM vis) AND y.plan_id IN (SELECT id FROM vis)
       {plan_filter}
),
pairs AS (
    SELECT k.a_id, k.b_id, k.a_plan, k.b_plan,
           similarity(a.title, b.title) AS title_sim,
           CASE WHEN a.description <> '' AND b.description <> ''
                THEN similarity(a.description, b.description) ELSE 0 END AS desc_sim,
           to_tsvector('english', a.title || ' ' || a.description) AS a_doc,
           to_tsvector('english', b.title || ' ' || b.description) AS b_doc
      FROM blocked k
      JOIN actionplan_action a ON a.id = k.a_id
      JOIN actionplan_action b ON b.id = k.b_id
     WHERE a.title %% b.title
       AND NOT EXISTS (
           SELECT 1 FROM actionplan_dismissedpair d WHERE d.action_a_id = k.a_id AND d.action_b_id = k.b_id
       )
),
matched AS (
    SELECT p.a_id, p.b_id, p.title_sim, p.desc_sim,
           areas.names AS area_names, boroughs.names AS borough_names,
           (pa.scope = 'pan_london' AND pb.scope = 'pan_london') AS london_wide,
           words.shared AS shared_words
      FROM pairs p
      JOIN actionplan_plan pa ON pa.id = p.a_plan
      JOIN actionplan_plan pb ON pb.id = p.b_plan
      CROSS JOIN LATERAL (
          SELECT array_agg(pr.name ORDER BY pr.ordering, pr.name) AS names, array_agg(pr.id) AS ids
            FROM actionplan_action_priority_areas x
            JOIN actionplan_action_priority_areas y ON y.priorityarea_id = x.priorityarea_id AND y.action_id = p.b_id
            JOIN outcomes_priorityarea pr ON pr.id = x.priorityarea_id
           WHERE x.action_id = p.a_id
      ) areas
      CROSS JOIN LATERAL (
          SELECT array_agg(ar.name ORDER BY ar.name) AS names, array_agg(ar.id) AS ids
            FROM cover ca
            JOIN cover cb ON cb.area_id = ca.area_id AND cb.plan_id = p.b_plan
            JOIN stakeholders_area ar ON ar.id = ca.area_id
           WHERE ca.plan_id = p.a_plan
      ) boroughs
      CROSS JOIN LATERAL (
          SELECT ARRAY(
              SELECT unnest(tsvector_to_array(p.a_doc))
              INTERSECT
              SELECT unnest(tsvector_to_array(p.b_doc))
              ORDER BY 1
          ) AS shared
      ) words
     WHERE p.title_sim >= %s
       AND areas.names IS NOT NULL
       AND boroughs.names IS NOT NULL
       AND cardinality(words.shared) > 0
       {extra}
)
"""
    ).format(visible=visible, plan_filter=plan_filter, extra=sql.SQL(" ").join(extra))
    params += [SIMILARITY_THRESHOLD, *extra_params]
    if count_only:
        tail = sql.SQL("SELECT count(*) FROM matched")
    else:
        tail = sql.SQL(
            """SELECT a_id, b_id, title_sim, desc_sim, area_names, borough_names, london_wide, shared_words,
       count(*) OVER () AS total
  FROM matched
 ORDER BY title_sim DESC, desc_sim DESC, a_id, b_id
 LIMIT %s OFFSET %s"""
        )
    return sql.Composed([body, tail]), params


def candidate_rows(
    user: AnyUser | None, filters: CandidateFilters = CandidateFilters(), *, limit: int = PAGE_SIZE, offset: int = 0
) -> list[tuple]:
    """The raw candidate rows (one query). ``user`` None means no permission filter (the benchmark's baseline)."""
    visible, visible_params = _visible_plans_sql(user)
    query, params = _candidates_sql(visible, filters, count_only=False)
    with connection.cursor() as cursor:
        # As text: pghistory's context wrapper (and Django's) expects a string statement.
        cursor.execute(query.as_string(cursor.connection), [*visible_params, *params, limit, offset])
        return cursor.fetchall()


def candidate_count(user: AnyUser | None, filters: CandidateFilters = CandidateFilters()) -> int:
    """How many candidate pairs ``user`` may see (one query), e.g. for "Possible duplicates (N)"."""
    visible, visible_params = _visible_plans_sql(user)
    query, params = _candidates_sql(visible, filters, count_only=True)
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), [*visible_params, *params])
        return cursor.fetchone()[0]


def _stem_to_word(lexeme: str, text: str) -> str:
    """A word of ``text`` that full-text search stemmed to ``lexeme`` ("crisi" -> "crisis"), else the lexeme."""
    for word in text.replace("/", " ").split():
        bare = word.strip(PUNCTUATION).lower()
        if bare.startswith(lexeme):
            return bare
    return lexeme


def candidate_actions_queryset() -> QuerySet[Action]:
    return Action.objects.select_related("plan", "key_step", "owner_organisation").prefetch_related(
        Prefetch("plan__areas", queryset=Area.objects.order_by("name"))
    )


def candidate_page(
    user: AnyUser, filters: CandidateFilters = CandidateFilters(), *, page: int = 1, page_size: int = PAGE_SIZE
) -> CandidatePage:
    """A page of candidate pairs with their actions and plans, in a fixed number of queries: the
    candidates (1), their actions with plan, key step and owner (1), the plans' areas (1), and the
    user's grants on those plans (1, so the page can say who may merge or dismiss)."""
    rows = candidate_rows(user, filters, limit=page_size, offset=(max(page, 1) - 1) * page_size)
    total = rows[0][-1] if rows else 0
    ids = {i for row in rows for i in row[:2]}
    actions = {a.pk: a for a in candidate_actions_queryset().filter(pk__in=ids)} if ids else {}
    plans = {a.plan_id: a.plan for a in actions.values()}
    prefetch_plan_perms(user, plans.values())
    pairs = []
    for a_id, b_id, title_sim, desc_sim, areas, boroughs, london_wide, words, _total in rows:
        a, b = actions[a_id], actions[b_id]
        text = f"{a.title} {a.description}"
        pairs.append(
            CandidatePair(
                a=a,
                b=b,
                title_similarity=float(title_sim),
                description_similarity=float(desc_sim),
                shared_areas=list(areas),
                shared_boroughs=list(boroughs),
                london_wide=bool(london_wide),
                shared_words=[_stem_to_word(w, text) for w in words],
            )
        )
    return CandidatePage(pairs=pairs, total=total)


def candidate_pair(user: AnyUser, a: Action, b: Action) -> CandidatePair | None:
    """The pair (a, b) if it is a candidate ``user`` may see now (one query plus the page's)."""
    lo, hi = sorted((a.pk, b.pk))
    for pair in candidate_page(user, CandidateFilters(plan=a.plan_id), page_size=10_000).pairs:
        if (pair.a.pk, pair.b.pk) == (lo, hi):
            return pair
    return None


# Filters' choices -------------------------------------------------------------------------


def filter_choices(user: AnyUser) -> tuple[QuerySet[PriorityArea], QuerySet[Area], QuerySet[Plan]]:
    """What the candidates page may be narrowed by: priority areas, boroughs, and the plans the user may read."""
    return (
        PriorityArea.objects.order_by("ordering", "name"),
        Area.objects.boroughs().order_by("name"),
        plans_visible_to(user).order_by("title").only("id", "title", "slug"),
    )


# Dismissals and merges --------------------------------------------------------------------


def dismissed_pairs(user: AnyUser, plan: Plan | None = None) -> QuerySet[DismissedPair]:
    """Dismissed pairs whose actions are both in plans the user may read."""
    visible = plans_visible_to(user).values("id")
    qs = DismissedPair.objects.filter(action_a__plan__in=visible, action_b__plan__in=visible).select_related(
        "action_a__plan", "action_b__plan", "dismissed_by"
    )
    if plan is not None:
        qs = qs.filter(action_a__plan=plan) | qs.filter(action_b__plan=plan)
    return qs.order_by("-dismissed_at", "-id")


def merges(user: AnyUser, *, live: bool | None = None) -> QuerySet[MergeRecord]:
    """Merges whose actions are both in plans the user may read, newest first."""
    visible = plans_visible_to(user).values("id")
    qs = MergeRecord.objects.filter(kept__plan__in=visible, retired__plan__in=visible).select_related(
        "kept__plan", "retired__plan", "merged_by", "split_by"
    )
    if live is not None:
        qs = qs.filter(split_at__isnull=live)
    return qs.order_by("-merged_at", "-id")


def is_london_wide(plan: Plan) -> bool:
    return plan.scope == PlanScope.PAN_LONDON
