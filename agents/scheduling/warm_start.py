"""Warm starts of consecutive re-plans: one kept HiGHS instance and a shifted basis.

A rolling plan solves nearly the same linear program every hour: the same devices, the
same commitments, the window moved on by a few steps. Every variable and row of a
:class:`~agents.scheduling.lp.LinearProgram` may carry a *label*, an integer naming what
it is (its family, e.g. "device d's charging flow", and the absolute time step it stands
for). :class:`WarmStart` keeps the optimal basis of the last solve by label; the next
solve gets, for each of its variables and rows, the status its label had (a variable of
a step both plans share keeps its place in the basis), new ones start non-basic at a
bound (variables) or basic (rows), and the count of basic entries is then made equal to
the number of rows, as a simplex basis needs. HiGHS starts its simplex there instead of
presolving and crashing a basis of its own.

A warm start changes where the simplex starts, not the problem: the optimum's cost is
the cold solve's (to the solver's tolerances); where the optimum is degenerate the
set-points may be another optimal vertex. Units: none (statuses and labels).
"""

from __future__ import annotations

import highspy
import numpy as np

LOWER, BASIC, UPPER, ZERO = 0, 1, 2, 3  # HighsBasisStatus values
_STATUS = np.array([highspy.HighsBasisStatus.kLower, highspy.HighsBasisStatus.kBasic,
                    highspy.HighsBasisStatus.kUpper, highspy.HighsBasisStatus.kZero,
                    highspy.HighsBasisStatus.kNonbasic], dtype=object)
NO_LABEL = -1
STEP_BITS = 34  # absolute steps: 2**34 quarter-hours is far beyond 2200
FIXED_STEP = (1 << STEP_BITS) - 1  # the step of an element that stays whatever the window


class WarmStart:
    """The kept HiGHS instance and the last optimal basis, by label.

    ``family(key)`` turns any hashable key (a family name and a device name, say) into a
    small integer; :func:`label` combines it with absolute time steps.
    """

    def __init__(self) -> None:
        self.highs: highspy.Highs | None = None
        self._families: dict = {}
        self._cols: tuple[np.ndarray, np.ndarray] | None = None  # sorted labels, statuses
        self._rows: tuple[np.ndarray, np.ndarray] | None = None
        self.solves = 0
        self.warm_solves = 0  # solves started from a carried basis
        self.fallbacks = 0  # warm solves that did not end optimal, then solved cold
        self.window_start = 0  # the first step of the program being built (label steps)
        self._kept_start = 0  # ... and of the one whose basis is kept

    def family(self, key) -> int:
        """A stable small integer for ``key`` (one per key for this warm start's life)."""
        return self._families.setdefault(key, len(self._families))

    def basis(self, col_labels, row_labels, col_lb, col_ub, row_lb, row_ub):
        """A consistent starting basis for the new program, or None without a kept one."""
        if self._cols is None:
            return None
        shift = self.window_start - self._kept_start
        col = _carry(self._cols, col_labels, _default_col(col_lb, col_ub), shift)
        col = np.where(_valid(col, col_lb, col_ub), col, _default_col(col_lb, col_ub))
        row = _carry(self._rows, row_labels, np.full(len(row_labels), BASIC, np.int8), shift)
        row = np.where(_valid(row, row_lb, row_ub), row, BASIC)
        _balance(col, row, col_labels, row_labels, col_lb, col_ub, row_lb, row_ub)
        basis = highspy.HighsBasis()
        basis.col_status = _STATUS[col].tolist()
        basis.row_status = _STATUS[row].tolist()
        return basis

    def keep(self, col_labels, row_labels, col_status: np.ndarray,
             row_status: np.ndarray) -> None:
        """Remember the optimal basis of the program just solved (statuses as int8
        arrays: :func:`statuses`)."""
        self._cols = _sorted(col_labels, col_status)
        self._rows = _sorted(row_labels, row_status)
        self._kept_start = self.window_start

    def forget(self) -> None:
        self._cols = self._rows = None


def label(family: int, steps) -> np.ndarray:
    """Labels of a family's elements at absolute time ``steps`` (int64)."""
    return (np.int64(family) << STEP_BITS) + np.asarray(steps, dtype=np.int64)


def statuses(basic: np.ndarray, value: np.ndarray, lb: np.ndarray,
             ub: np.ndarray) -> np.ndarray:
    """Basis statuses (int8) of variables or rows from the indices of the basic ones and
    the values: a non-basic one sits at a bound (HiGHS puts it exactly there), the
    nearer one; a free one at zero. The same statuses as ``Highs.getBasis()`` (where a
    fixed one is at both bounds, either is the same basis), without its list of Python
    objects."""
    at_upper = np.isfinite(ub) & ~(np.abs(value - lb) <= np.abs(value - ub))
    status = np.where(at_upper, UPPER, np.where(np.isfinite(lb), LOWER, ZERO)).astype(np.int8)
    status[basic] = BASIC
    return status


def _sorted(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = labels != NO_LABEL
    labels, values = labels[keep], values[keep]
    order = np.argsort(labels, kind="stable")
    return labels[order], values[order]


SHIFT_ROUNDS = 4  # a window that grew: steps up to 4 shifts beyond the old end


def _carry(kept: tuple[np.ndarray, np.ndarray], labels: np.ndarray,
           default: np.ndarray, shift: int = 0) -> np.ndarray:
    """Statuses of the kept basis for the labels it knows; for a label it does not know,
    the status of its family ``shift`` steps (up to ``SHIFT_ROUNDS`` shifts) earlier
    (``shift > 0``: the window moved on); ``default`` for the rest."""
    old, status = kept
    out = default.astype(np.int8)  # a copy
    if not len(old):
        return out
    todo = np.flatnonzero(labels != NO_LABEL)
    want = labels[todo]
    for _ in range(SHIFT_ROUNDS if shift > 0 else 1):
        at = np.searchsorted(old, want).clip(0, len(old) - 1)
        known = old[at] == want
        out[todo[known]] = status[at[known]]
        todo, want = todo[~known], want[~known] - shift
        if not len(todo):
            break
    return out


def _default_col(lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Non-basic at the lower bound, else the upper, else (free) at zero."""
    return np.where(np.isfinite(lb), LOWER, np.where(np.isfinite(ub), UPPER, ZERO)
                    ).astype(np.int8)


def _valid(status: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """A non-basic status needs the bound it sits at (ZERO: a free variable)."""
    return ((status == BASIC) | ((status == LOWER) & np.isfinite(lb))
            | ((status == UPPER) & np.isfinite(ub))
            | ((status == ZERO) & ~np.isfinite(lb) & ~np.isfinite(ub)))


def _balance(col, row, col_labels, row_labels, col_lb, col_ub, row_lb, row_ub) -> None:
    """Make the number of basic entries equal the number of rows (in place): rows with
    a bound leave the basis, or rows enter it, new ones (no label carried) first."""
    excess = int((col == BASIC).sum() + (row == BASIC).sum()) - len(row)
    if excess > 0:
        bounded = np.isfinite(row_lb) | np.isfinite(row_ub)
        pick = _first((row == BASIC) & bounded, row_labels == NO_LABEL, excess)
        row[pick] = np.where(np.isfinite(row_lb[pick]), LOWER, UPPER)
        excess -= len(pick)
    if excess > 0:  # still more basic variables than rows: columns leave the basis
        pick = _first(col == BASIC, col_labels == NO_LABEL, excess)
        col[pick] = _default_col(col_lb[pick], col_ub[pick])
    elif excess < 0:
        pick = _first(row != BASIC, row_labels == NO_LABEL, -excess)
        row[pick] = BASIC


def _first(candidates: np.ndarray, preferred: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` indices of ``candidates``, the ``preferred`` ones first."""
    idx = np.flatnonzero(candidates)
    order = np.argsort(~preferred[idx], kind="stable")
    return idx[order[:n]]
