"""A small linear / mixed-integer program builder on HiGHS (highspy), vectorised.

Variables and constraint rows are added in blocks (numpy arrays); the matrix is
assembled once in compressed-column form and handed to HiGHS with ``passModel``.
Blocks may carry labels (:mod:`warm_start`), so that a kept HiGHS instance can start the
next, similar program from this one's optimal basis.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from agents.scheduling.warm_start import NO_LABEL, WarmStart, statuses

INF = highspy.kHighsInf


def _new_highs() -> highspy.Highs:
    """A silent HiGHS instance (its first construction prints a banner to stdout, which
    would end up in the middle of a command's output)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SHOWN = True
    return h


_BANNER_SHOWN = False


def _shape(shape) -> tuple:
    """A shape (an int or a sequence of ints) as a tuple."""
    if isinstance(shape, tuple):
        return shape
    return tuple(shape) if hasattr(shape, "__len__") else (int(shape),)


def _flat(value, shape, dtype=float) -> np.ndarray:
    """``value`` broadcast to ``shape``, as a new flat array of ``dtype``."""
    shape = _shape(shape)
    if isinstance(value, float | int) or np.ndim(value) == 0:
        return np.full(math.prod(shape), value, dtype=dtype)
    value = np.asarray(value, dtype=dtype)
    if value.shape == shape:
        return value.ravel().copy()
    return np.broadcast_to(value, shape).ravel().copy()


class SolveError(RuntimeError):
    """HiGHS found no optimal solution (infeasible, unbounded, time limit...)."""


@dataclass
class Solution:
    x: np.ndarray
    objective: float
    status: str
    mip: bool


@dataclass
class _Model:
    """A linear program as HiGHS' arrays (``passModel`` of numpy arrays: no per-element
    conversion, as assigning them to a ``HighsLp`` has)."""

    n_cols: int
    n_rows: int
    offset: float
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray  # int32, the matrix by column
    index: np.ndarray  # int32
    value: np.ndarray

    def pass_to(self, h: highspy.Highs, integer: np.ndarray | None = None) -> None:
        kinds = np.zeros(self.n_cols, np.int32) if integer is None else \
            np.where(integer, int(highspy.HighsVarType.kInteger), 0).astype(np.int32)
        status = h.passModel(self.n_cols, self.n_rows, len(self.value),
                             int(highspy.MatrixFormat.kColwise),
                             int(highspy.ObjSense.kMinimize), self.offset, self.col_cost,
                             self.col_lower, self.col_upper, self.row_lower, self.row_upper,
                             self.start, self.index, self.value, kinds)
        if status == highspy.HighsStatus.kError:
            raise SolveError("HiGHS did not accept the program")


def _basis_statuses(h: highspy.Highs, model: _Model, x: np.ndarray,
                    row_value) -> tuple[np.ndarray, np.ndarray]:
    """The optimal basis as int8 statuses of the columns and of the rows (from HiGHS'
    basic indices, a numpy array: a row r is ``-1 - r``)."""
    _, basic = h.getBasicVariables()
    basic = np.asarray(basic)
    return (statuses(basic[basic >= 0], x, model.col_lower, model.col_upper),
            statuses(-1 - basic[basic < 0], np.asarray(row_value), model.row_lower,
                     model.row_upper))


class LinearProgram:
    def __init__(self) -> None:
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._cost: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self._row_lb: list[np.ndarray] = []
        self._row_ub: list[np.ndarray] = []
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self._col_labels: list[np.ndarray] = []
        self._row_labels: list[np.ndarray] = []
        self._extra_cost: list[tuple[np.ndarray, np.ndarray]] = []  # (cols, cost): add_cost
        self.n_vars = 0
        self.n_rows = 0
        self.offset = 0.0
        self.cost_scale = 1.0  # costs are multiplied by this for the solver only

    def add_vars(self, shape, lb=0.0, ub=INF, cost=0.0, integer: bool = False,
                 labels=NO_LABEL) -> np.ndarray:
        """A block of variables; returns their indices with the given shape.

        ``labels`` (int64, broadcast to ``shape``) name the variables for warm starts.
        """
        shape = _shape(shape)
        n = math.prod(shape)
        self._col_labels.append(_flat(labels, shape, np.int64))
        idx = np.arange(self.n_vars, self.n_vars + n).reshape(shape)
        self._lb.append(_flat(lb, shape))
        self._ub.append(_flat(ub, shape))
        self._cost.append(_flat(cost, shape))
        self._int.append(np.full(n, integer, dtype=bool))
        self.n_vars += n
        return idx

    def add_cost(self, cols: np.ndarray, cost) -> None:
        """Add ``cost`` to the objective coefficients of the variables ``cols``."""
        self._extra_cost.append((np.asarray(cols).ravel(), np.broadcast_to(
            np.asarray(cost, float), np.shape(cols)).ravel()))

    def add_rows(self, terms: list[tuple[np.ndarray, np.ndarray]], lb, ub,
                 labels=NO_LABEL) -> np.ndarray:
        """Rows ``lb <= sum_k vals_k * x[cols_k] <= ub``, one row per element.

        ``terms`` is a list of ``(cols, vals)``; every ``cols`` and ``vals`` broadcasts to
        the rows' shape (the shape of ``lb``/``ub`` broadcast together). ``labels`` name
        the rows for warm starts.
        """
        shape = np.broadcast_shapes(np.shape(lb), np.shape(ub),
                                    *[np.shape(c) for c, _ in terms])
        n = math.prod(shape)
        self._row_labels.append(_flat(labels, shape, np.int64))
        rows = np.arange(self.n_rows, self.n_rows + n)
        for cols, vals in terms:
            c = np.asarray(cols)
            c = c.ravel() if c.shape == shape else np.broadcast_to(c, shape).ravel()
            if np.ndim(vals) == 0:  # one coefficient for the whole block
                if vals == 0.0:
                    continue
                self._r.append(rows)
                self._c.append(c)
                self._v.append(np.full(n, float(vals)))
                continue
            v = np.broadcast_to(np.asarray(vals, float), shape).ravel()
            keep = v != 0.0
            self._r.append(rows[keep])
            self._c.append(c[keep])
            self._v.append(v[keep])
        rows = rows.reshape(shape)
        self._row_lb.append(_flat(lb, shape))
        self._row_ub.append(_flat(ub, shape))
        self.n_rows += n
        return rows

    def solve(self, *, relax_integers: bool = False, time_limit_s: float | None = None,
              mip_rel_gap: float = 1e-9, warm: WarmStart | None = None) -> Solution:
        """Solve with a new HiGHS instance, or (``warm``, a linear program) with the kept
        one, started from the basis of the last program solved there."""
        model = self._model()
        integer = np.concatenate(self._int) if self._int else np.zeros(0, bool)
        mip = bool(integer.any()) and not relax_integers
        warm = None if mip else warm
        if warm is not None:
            h = self._warm_highs(model, warm, time_limit_s)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                # the warm start is only a shortcut: a cold solve has the last word
                warm.forget()
                warm.fallbacks += 1
                h = None
        if warm is None or h is None:
            h = self._cold_highs(model, integer if mip else None, mip_rel_gap, time_limit_s)
            h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolveError(h.modelStatusToString(status))
        solution = h.getSolution()
        x = np.asarray(solution.col_value)
        if warm is not None and h is warm.highs:
            warm.keep(*self.labels(), *_basis_statuses(h, model, x, solution.row_value))
        objective = h.getInfo().objective_function_value / self.cost_scale
        return Solution(x, objective, h.modelStatusToString(status), mip)

    def costs(self) -> np.ndarray:
        """Every variable's objective coefficient (before ``cost_scale``)."""
        cost = np.concatenate(self._cost) if self._cost else np.zeros(0)
        for cols, extra in self._extra_cost:
            np.add.at(cost, cols, extra)
        return cost

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The variables' and the rows' labels (``NO_LABEL`` where none was given)."""
        return (np.concatenate(self._col_labels) if self._col_labels else np.zeros(0, np.int64),
                np.concatenate(self._row_labels) if self._row_labels else np.zeros(0, np.int64))

    def _model(self) -> _Model:
        """The program as the arrays HiGHS takes (costs scaled, the matrix by column)."""
        matrix = sp.csc_matrix(
            (np.concatenate(self._v) if self._v else np.zeros(0),
             (np.concatenate(self._r) if self._r else np.zeros(0, int),
              np.concatenate(self._c) if self._c else np.zeros(0, int))),
            shape=(self.n_rows, self.n_vars),
        )
        matrix.sum_duplicates()
        return _Model(
            self.n_vars, self.n_rows, self.offset * self.cost_scale,
            self.costs() * self.cost_scale,
            np.concatenate(self._lb) if self._lb else np.zeros(0),
            np.concatenate(self._ub) if self._ub else np.zeros(0),
            np.concatenate(self._row_lb) if self._row_lb else np.zeros(0),
            np.concatenate(self._row_ub) if self._row_ub else np.zeros(0),
            matrix.indptr.astype(np.int32, copy=False),
            matrix.indices.astype(np.int32, copy=False), matrix.data)

    @staticmethod
    def _cold_highs(model: _Model, integer: np.ndarray | None, mip_rel_gap: float,
                    time_limit_s: float | None) -> highspy.Highs:
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", mip_rel_gap)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(time_limit_s))
        model.pass_to(h, integer)
        return h

    def _warm_highs(self, model: _Model, warm: WarmStart,
                    time_limit_s: float | None) -> highspy.Highs:
        if warm.highs is None:
            warm.highs = _new_highs()
            warm.highs.setOptionValue("output_flag", False)
        h = warm.highs
        h.setOptionValue("time_limit", INF if time_limit_s is None else float(time_limit_s))
        model.pass_to(h)
        cols, rows = self.labels()
        basis = warm.basis(cols, rows, model.col_lower, model.col_upper, model.row_lower,
                           model.row_upper)
        warm.solves += 1
        if basis is not None and h.setBasis(basis) == highspy.HighsStatus.kOk:
            warm.warm_solves += 1
        return h
