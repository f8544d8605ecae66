"""StepSampler.steps (all items at once) against a plain loop over the items."""

from __future__ import annotations

import numpy as np
import pytest

from agents.scheduling.flex_model import parse_request
from agents.scheduling.sampling import StepSampler
from tests.agents.scheduling.fm_requests import random_request


def _loop(starts_ns: np.ndarray, items, overlap: str, fill_sides: bool) -> np.ndarray:
    out = np.full(len(starts_ns), np.nan)
    for start, end, value in items:
        a, b = start.value, end.value
        for j, t in enumerate(starts_ns):
            if not (a <= t < b if b > a else t == a):
                continue
            if np.isnan(out[j]):
                out[j] = value
            elif overlap == "min" and not np.isnan(value):
                out[j] = min(out[j], value)
            elif overlap == "max" and not np.isnan(value):
                out[j] = max(out[j], value)
    if fill_sides and not np.isnan(out).all():
        known = np.flatnonzero(~np.isnan(out))
        out[:known[0]], out[known[-1] + 1:] = out[known[0]], out[known[-1]]
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("overlap", ["first", "min", "max"])
def test_overlapping_items_resolve_as_item_after_item(seed, overlap):
    req = parse_request(random_request(seed, n=24))
    sampler = StepSampler(req)
    rng = np.random.default_rng(seed)
    t0, res = req.start, req.resolution
    items = []
    for _ in range(int(rng.integers(1, 12))):
        a = int(rng.integers(-4, 28))
        b = a + int(rng.integers(0, 9))  # 0: an instant
        value = np.nan if rng.random() < 0.15 else float(np.round(rng.normal(), 2))
        items.append((t0 + a * res, t0 + b * res, value))
    for fill in (False, True):
        got = sampler.steps(items, fill_sides=fill, overlap=overlap)
        want = _loop(sampler._starts_ns, items, overlap, fill)
        np.testing.assert_array_equal(got, want)
