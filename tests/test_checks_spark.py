"""cflib.checks.spark_objective: the per-row penalty exercise passes right answers and diagnoses each planted mistake."""

import numpy as np
import pytest

from cflib import checks
from cflib.als_wr import row_penalty


def run(fn, capsys):
    got = checks.check_row_penalty(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0], got


def stands_in(got) -> bool:
    """The check returned cflib's row_penalty wrapped as a stand-in that says so."""
    return isinstance(got, checks.StandIn) and got.reference is row_penalty and "stands in" in str(got)


def right(rows, n_rows, reg_param, k):
    counts = np.bincount(rows, minlength=n_rows)
    return np.tile((reg_param * counts)[:, None], (1, k))


def test_right_answer_passes(capsys):
    line, got = run(right, capsys)
    assert line.startswith("check_row_penalty: PASS") and got is right


def test_not_implemented(capsys):
    def todo(rows, n_rows, reg_param, k):
        raise NotImplementedError
    line, got = run(todo, capsys)
    assert "not implemented yet" in line and stands_in(got)


def _tile(v, k):
    return np.tile(np.asarray(v, float)[:, None], (1, k))


MISTAKES = [
    (lambda r, n, reg, k: np.full((n, k), reg), ["number of ratings n_r is missing"]),
    (lambda r, n, reg, k: _tile(reg * np.bincount(r, minlength=n) / 2, k), ["half", "no 1/2"]),
    (lambda r, n, reg, k: _tile(2 * reg * np.bincount(r, minlength=n), k), ["twice", "cancels"]),
    (lambda r, n, reg, k: _tile(reg / np.maximum(np.bincount(r, minlength=n), 1) * (np.bincount(r, minlength=n) > 0), k),
     ["divides reg_param by n_r"]),
    (lambda r, n, reg, k: np.full((n, k), reg * len(r)), ["total number of ratings"]),
    (lambda r, n, reg, k: reg * np.bincount(r, minlength=n).astype(float), ["has shape (3,)", "repeat"]),
    (lambda r, n, reg, k: _tile(reg * np.bincount(r), k), ["minlength=n_rows", "rows without ratings"]),
    (lambda r, n, reg, k: None, ["returned None", "return"]),
    (lambda r, n, reg, k: _tile(reg * np.bincount(r, minlength=n), k).T, ["has shape (2, 3), expected (3, 2)", "transposed"]),
    (lambda r, n, reg, k: _tile(reg * np.sqrt(np.bincount(r, minlength=n)), k), ["P differs from cflib.als_wr.row_penalty",
                                                                               "reg_param * n_r"]),
    (lambda r, n, reg, k: reg * len(r), ["has shape (), expected (3, 2)", "not one number"]),
]


@pytest.mark.parametrize("fn, phrases", MISTAKES)
def test_each_mistake_is_diagnosed(fn, phrases, capsys):
    line, got = run(fn, capsys)
    assert line.startswith("check_row_penalty: FAIL"), line
    for p in phrases:
        assert p in line, line
    assert stands_in(got)
