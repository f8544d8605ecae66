"""The HiGHS program builder (agents.scheduling.lp)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.scheduling.lp import INF, LinearProgram, SolveError


def test_linear_program_blocks_and_integers():
    # min x0 + x1 + 1.5 y  s.t.  x_i + y >= 1.5 (per i),  x <= 1,  y integer
    lp = LinearProgram()
    x = lp.add_vars((2,), 0.0, 1.0, cost=1.0)
    y = lp.add_vars((), 0.0, 10.0, cost=1.5, integer=True)
    rows = lp.add_rows([(x, 1.0), (np.full(2, y), 1.0)], 1.5, INF)
    assert rows.shape == (2,)
    mip = lp.solve()
    assert mip.mip and mip.objective == pytest.approx(2.5)  # y = 1, x = 0.5 each
    np.testing.assert_allclose(mip.x, [0.5, 0.5, 1.0])
    relaxed = lp.solve(relax_integers=True)
    assert not relaxed.mip and relaxed.objective == pytest.approx(2.25)  # y = 1.5, x = 0
    np.testing.assert_allclose(relaxed.x, [0.0, 0.0, 1.5], atol=1e-9)


def test_linear_program_equality_rows_and_offset():
    lp = LinearProgram()
    s = lp.add_vars((4,), -INF, INF)
    p = lp.add_vars((3,), -2.0, 2.0, cost=[1.0, -1.0, 1.0])
    lp.add_rows([(s[1:], 1.0), (s[:-1], -1.0), (p, -1.0)], 0.0, 0.0)  # s[t+1] = s[t] + p[t]
    lp.add_rows([(s[:1], 1.0)], 1.0, 1.0)
    lp.add_rows([(s, 1.0)], 0.0, 3.0)
    lp.offset = 10.0
    sol = lp.solve()
    np.testing.assert_allclose(sol.x[:4], [1.0, 0.0, 2.0, 0.0], atol=1e-9)
    assert sol.objective == pytest.approx(10.0 - 1.0 - 2.0 - 2.0)


def test_linear_program_infeasible_raises():
    lp = LinearProgram()
    x = lp.add_vars((1,), 0.0, 1.0)
    lp.add_rows([(x, 1.0)], 2.0, INF)
    with pytest.raises(SolveError, match="Infeasible"):
        lp.solve()
