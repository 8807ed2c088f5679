"""Borough values into pan-London metrics, in set-based SQL (docs/statistics.md).

Split by role:

- `fragments`: the SQL pieces both paths share (published counts, the limits, values and
  primary suppression from sums, comparison and quintiles, the trend tests), one function or
  constant each; Python (`outcomes.statistics`) is the tested reference they mirror;
- `incremental`: the recompute of a set of (indicator, period) cells, as imports and reviews
  change their values;
- `rebuild`: the nightly rebuild of every cell, reading the values once;
- `inequality`: the gap measures between a breakdown's groups (InequalityMetric), from the
  group metrics just written, in one set-based statement that writes only what differs;
- `generation`: the counter the dashboards' cache is keyed by, bumped when metrics change.

Every metric is computed for all people (the headline: breakdown and group blank, from
all-people values only) and for each population group at every level (docs/statistics.md,
"Figures by population group").

Two bases are kept: `approved` (only approved values, the published figures) and
`provisional` (approved and submitted values, marked provisional on dashboards). Recomputing
twice, or the nightly rebuild after the incremental path, leaves the table byte-identical.
"""

from __future__ import annotations

from outcomes.aggregation.fragments import published
from outcomes.aggregation.generation import GENERATION_KEY, metrics_changed, metrics_generation
from outcomes.aggregation.incremental import all_cells, metrics_recompute_cells
from outcomes.aggregation.rebuild import WORDS_INLINE, metrics_rebuild_all

BASES = ("approved", "provisional")


def statements() -> dict[str, str]:
    """Every statement the two paths run, by name (the snapshot tests compare them)."""
    from outcomes.aggregation import incremental, inequality, rebuild

    named = {
        "recompute": incremental.RECOMPUTE_SQL,
        "compare": incremental.COMPARE_SQL,
        "trend": incremental.TREND_SQL,
        "split": incremental.SPLIT_SQL,
        "fold": incremental.FOLD_SQL,
        "cell_counts": incremental.CELL_COUNTS_SQL,
        "rebuild_cell_counts": rebuild.CELL_COUNTS_SQL,
        "rebuild_hide": rebuild.HIDE_SQL,
        "rebuild_population": rebuild.POPULATION_SQL,
        "organisation_words": rebuild.ORGANISATION_WORDS_SQL,
        "metric_indexes": rebuild.METRIC_INDEXES_SQL,
        "drop_staging": rebuild.DROP_STAGING_SQL,
        "rebuild_first_build": rebuild.FIRST_BUILD_SQL,
    }
    for label, scope in (("every", rebuild.EVERY_INDICATOR), ("group", rebuild.GROUP_OF_INDICATORS)):
        named[f"rebuild_write_{label}"] = rebuild.WRITE_SQL[scope]
        named[f"rebuild_cells_few_words_{label}"] = rebuild.cells_sql([0, 1], scope)
        named[f"rebuild_cells_many_words_{label}"] = rebuild.cells_sql(list(range(12)), scope)
    for scope, statement in inequality.WRITE_SQL.items():
        named[f"inequality_write_{scope}"] = statement
    return named


__all__ = [
    "BASES",
    "GENERATION_KEY",
    "WORDS_INLINE",
    "all_cells",
    "metrics_changed",
    "metrics_generation",
    "metrics_rebuild_all",
    "metrics_recompute_cells",
    "published",
    "statements",
]
