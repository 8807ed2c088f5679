"""Small-number control: no count under 5 is published, and none can be worked out by subtraction.

The attacker below knows what a reader of the page knows: the total, every shown count, which
counts are "fewer than 5" and which "not shown", and the rule (a "not shown" count is at least 5
and at most the smallest count still shown). It lists every set of counts consistent with that,
and the test fails if any count under 5 has a value 0 to 4 ruled out.
"""

from __future__ import annotations

import itertools

import pytest

from actionplan.consultations import disclosure
from actionplan.consultations.disclosure import ALSO_HIDDEN, SHOWN, SMALL_HIDDEN


def possible_values(breakdown: disclosure.Breakdown) -> dict[int, set[int]]:
    """For each hidden count, the values a reader cannot rule out (brute force, small totals)."""
    cells = breakdown.cells
    total = breakdown.total
    shown = [c.value for c in cells if c.state == SHOWN]
    ceiling = min(shown) if shown else total
    hidden = [i for i, c in enumerate(cells) if c.state != SHOWN]
    ranges = [range(5) if cells[i].state == SMALL_HIDDEN else range(5, ceiling + 1) for i in hidden]
    possible: dict[int, set[int]] = {i: set() for i in hidden}
    for combo in itertools.product(*ranges):
        if sum(combo) + sum(shown) == total:
            for i, v in zip(hidden, combo, strict=True):
                possible[i].add(v)
    return possible


def test_counts_of_5_or_more_are_shown_as_they_are():
    b = disclosure.partition(["a", "b", "c"], [5, 9, 12])
    assert [c.value for c in b.cells] == [5, 9, 12]
    assert b.total == 26
    assert not b.any_hidden


def test_a_count_under_5_is_fewer_than_5_and_the_next_smallest_is_hidden_so_it_cannot_be_subtracted():
    b = disclosure.partition(["A&E", "111", "café", "GP"], [13, 9, 6, 3])
    assert [c.state for c in b.cells] == [SHOWN, SHOWN, ALSO_HIDDEN, SMALL_HIDDEN]
    assert b.cells[3].text == "fewer than 5"
    assert b.cells[2].text == "not shown"
    # Without the second hidden count, 31 - 13 - 9 - 6 = 3 would give the GP count away.
    assert possible_values(b)[3] == {0, 1, 2, 3, 4}


def test_hiding_only_the_small_count_would_have_given_it_away():
    # The naive rule's page: total 31 and three counts shown. The attacker pins the fourth.
    naive = disclosure.Breakdown(
        31,
        (
            disclosure.Cell("a", SHOWN, 13),
            disclosure.Cell("b", SHOWN, 9),
            disclosure.Cell("c", SHOWN, 6),
            disclosure.Cell("d", SMALL_HIDDEN, None),
        ),
    )
    assert possible_values(naive)[3] == {3}


def test_a_zero_is_a_count_under_5_too():
    b = disclosure.partition(["yes", "no"], [20, 0])
    assert b.cells[1].state == SMALL_HIDDEN
    # "yes" is hidden too: 20 answers, "yes" at least 5, "no" any of 0 to 4.
    assert b.cells[0].state == ALSO_HIDDEN
    assert possible_values(b)[1] == {0, 1, 2, 3, 4}


def test_a_breakdown_that_cannot_be_made_safe_is_withheld():
    # 3 and 5 of 8: even with both hidden, "not shown" means at least 5, so the small one is at
    # most 3 (8 - 5): a 4 is ruled out. No count is shown, only the total.
    b = disclosure.partition(["a", "b"], [3, 5])
    assert b.withheld
    assert b.total == 8


def test_fewer_than_5_answers_in_all_shows_no_count_and_no_total():
    b = disclosure.partition(["a", "b"], [2, 1])
    assert b.withheld and b.total is None
    assert all(c.value is None for c in b.cells)


def test_a_many_choice_question_hides_each_count_under_5_on_its_own():
    b = disclosure.independent(["a", "b", "c"], [16, 3, 7], total=22)
    assert [c.state for c in b.cells] == [SHOWN, SMALL_HIDDEN, SHOWN]


def test_a_many_choice_count_that_leaves_fewer_than_5_unchosen_is_hidden_too():
    # 20 of 22 ticked "a": showing 20 beside the 22 who answered says 2 did not.
    b = disclosure.independent(["a", "b"], [20, 9], total=22)
    assert [c.state for c in b.cells] == [ALSO_HIDDEN, SHOWN]


@pytest.mark.parametrize(("n_cells", "top", "most"), [(2, 25, 25), (3, 14, 22), (4, 10, 18), (5, 7, 14)])
def test_no_count_under_5_can_be_narrowed_in_any_small_breakdown(n_cells, top, most):
    # Every way of splitting up to `most` answers between the cells, each at most `top - 1`
    # (the attacker is exhaustive, so the sizes are kept small enough to run in seconds).
    checked = 0
    for values in itertools.product(range(top), repeat=n_cells):
        if sum(values) > most:
            continue
        b = disclosure.partition([str(i) for i in range(n_cells)], list(values))
        for cell, value in zip(b.cells, values, strict=True):
            if cell.shown:
                assert cell.value == value >= 5
        if b.withheld:
            continue
        for i, seen in possible_values(b).items():
            if b.cells[i].state == SMALL_HIDDEN:
                assert seen >= set(range(5)), (values, i, seen)
        checked += 1
    assert checked > 0


def test_the_mean_is_not_published_beside_a_hidden_count():
    # With the mean, the total and the shown counts, two hidden counts would be two equations.
    values = [1, 2, 6, 9, 7]
    b = disclosure.partition(["1", "2", "3", "4", "5"], values)
    assert b.any_hidden
    assert disclosure.published_mean(b, [1, 2, 3, 4, 5], values) is None
    full = [6, 8, 7, 5, 5]
    assert disclosure.published_mean(disclosure.partition(list("12345"), full), [1, 2, 3, 4, 5], full) == 2.8
