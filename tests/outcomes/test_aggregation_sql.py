"""Snapshots of every statement the metrics aggregation runs (outcomes.aggregation.statements).

The statements are composed from functions (outcomes/aggregation/fragments.py); these files show
what the composition produces, so a change to the SQL is seen whole in review. After a deliberate
change, regenerate them with `UPDATE_SQL_SNAPSHOTS=1 pytest tests/outcomes/test_aggregation_sql.py`
and read the diff. The behaviour is held by test_aggregation.py (the rebuild writes exactly the
incremental path's rows, both equal to the Python reference).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outcomes.aggregation import statements

SNAPSHOTS = Path(__file__).parent / "sql"
UPDATE = os.environ.get("UPDATE_SQL_SNAPSHOTS") == "1"


@pytest.mark.parametrize("name", sorted(statements()))
def test_the_statement_is_the_one_reviewed(name):
    sql = statements()[name]
    path = SNAPSHOTS / f"{name}.sql"
    if UPDATE:
        path.write_text(sql)
    assert path.exists(), f"no snapshot of {name}: run with UPDATE_SQL_SNAPSHOTS=1 and review the new file"
    assert sql == path.read_text(), f"{name} changed: regenerate with UPDATE_SQL_SNAPSHOTS=1 and review the diff"


def test_every_snapshot_is_of_a_statement_still_run():
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.sql")) == sorted(statements())


def test_no_statement_is_left_with_a_marker_or_a_slot_unfilled():
    for name, sql in statements().items():
        assert "__" not in sql, name
        assert "{" not in sql and "}" not in sql, name
