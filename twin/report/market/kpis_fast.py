"""Array helpers behind ``twin.report.market.kpis``: the area tree as integer codes.

Areas are numbered in the order of the record's ``areas`` table; -1 stands for "no
area" (an external kept outside every area, or a name that is no area). Depth: the root
0, its children 1, and so on. Every area is inside itself and its ancestors, so "trade
inside area A" becomes "A is on the trade's lineage", looked up once per trade instead of
scanned once per area.

The helpers keep the order of the items they are given: a group's members come out in
ascending position, so a sum over them adds the same numbers in the same order as a
masked sum over the full table (numpy's pairwise sum depends only on that sequence) and
``np.bincount`` accumulates in input order like a Python loop of ``+=``. The fast KPIs
are therefore bit-identical to the per-area definitions, not merely close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class AreaTree:
    """The area tree as arrays.

    ``names`` [area], ``depth`` [area], ``parent`` [area] (-1 at the root),
    ``at_depth`` [area, depth]: the area's ancestor at that depth (itself at its own
    depth, -1 below it), and ``root``: the first area without a parent.
    """

    def __init__(self, lineage: dict[str, list[str]]):
        names = list(lineage)
        self.names = np.array(names, dtype=object)
        self._index = pd.Index(names, dtype=object)
        n = len(names)
        self.depth = np.array([len(lineage[a]) - 1 for a in names], dtype=np.int64)
        width = int(self.depth.max()) + 1 if n else 1
        self.at_depth = np.full((n, width), -1, dtype=np.int64)
        for i, a in enumerate(names):
            self.at_depth[i, :self.depth[i] + 1] = self.codes(lineage[a][::-1])
        self.parent = np.array([self.at_depth[i, d - 1] if d > 0 else -1
                                for i, d in enumerate(self.depth)], dtype=np.int64)
        self.root = int(np.argmin(self.depth)) if n else -1

    def __len__(self) -> int:
        return len(self.names)

    def codes(self, names) -> np.ndarray:
        """Code of each name, -1 where it is no area (None, NaN, unknown)."""
        return self._index.get_indexer(pd.Index(names, dtype=object)).astype(np.int64)

    def lca_depth(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Depth of the lowest common ancestor of a and b; -1 if either is no area."""
        valid = (a >= 0) & (b >= 0)
        up_a, up_b = self.at_depth[np.where(valid, a, 0)], self.at_depth[np.where(valid, b, 0)]
        common = ((up_a == up_b) & (up_a >= 0)).sum(axis=1) - 1
        return np.where(valid, common, -1)

    def members(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the items inside each area: ``items[bounds[a]:bounds[a + 1]]``.

        An item (one per entry of ``codes``) is inside its own area and every ancestor;
        positions ascend within each area. Items with code -1 are inside none.
        """
        valid = np.flatnonzero(codes >= 0)
        up = self.at_depth[codes[valid]]
        inside = up >= 0
        area = up[inside]  # row by row: item-major, so a stable sort keeps items ascending
        item = np.repeat(valid, inside.sum(axis=1))
        order = np.argsort(area, kind="stable")
        bounds = np.zeros(len(self) + 1, dtype=np.int64)
        bounds[1:] = np.cumsum(np.bincount(area, minlength=len(self)))
        return item[order], bounds

    def paths(self, a: np.ndarray, b: np.ndarray):
        """Every (trade, step) on the paths from a up to the common ancestor and down to b.

        Returns (trade, step, node, length): the trade each step belongs to, the step's
        position on its path (0 at a), the area there, and each trade's path length.
        Steps come trade by trade, in path order.
        """
        da, db, dl = self.depth[a], self.depth[b], self.lca_depth(a, b)
        up = da - dl + 1
        length = up + db - dl
        trade = np.repeat(np.arange(len(a)), length)
        step = np.arange(len(trade)) - (np.cumsum(length) - length)[trade]
        going_up = step < up[trade]
        depth = np.where(going_up, da[trade] - step, dl[trade] + 1 + step - up[trade])
        node = self.at_depth[np.where(going_up, a[trade], b[trade]), depth]
        return trade, step, node, length

    def leg_ends(self, trade, step, node, length, first, last) -> tuple[np.ndarray, ...]:
        """(seller, buyer) name of each step of ``paths``: the trade's ``first`` / ``last``
        at the ends, else the child the energy comes up from / goes down to, or the
        market's own link (named after it) on the way down / up."""
        names, parent, n = self.names, self.parent, len(node)
        before = node[np.maximum(np.arange(n) - 1, 0)]
        after = node[np.minimum(np.arange(n) + 1, n - 1)]
        seller = np.where(step == 0, first[trade],
                          np.where(parent[before] == node, names[before], names[node]))
        buyer = np.where(step == length[trade] - 1, last[trade],
                         np.where(parent[after] == node, names[after], names[node]))
        return seller, buyer


def pair_codes(first, second) -> tuple[np.ndarray, list, list]:
    """Integer code of each (first, second) pair in order of first appearance.

    Returns (code per entry, first of each code, second of each code)."""
    c1, u1 = pd.factorize(pd.Series(first, dtype=object), use_na_sentinel=False)
    c2, u2 = pd.factorize(pd.Series(second, dtype=object), use_na_sentinel=False)
    code, uniq = pd.factorize(c1.astype(np.int64) * max(len(u2), 1) + c2)
    return code, list(u1[uniq // max(len(u2), 1)]), list(u2[uniq % max(len(u2), 1)])


def sequential_sums(step: np.ndarray, group: np.ndarray, values: np.ndarray,
                    start: np.ndarray, running: bool = False) -> np.ndarray:
    """Per group, ``start`` plus its values added step by step in step order.

    ``running``: the running total at each entry (its own value included) instead of each
    group's total. Adds in the same order as a Python loop, so the same bits.
    """
    total = np.array(start, dtype=float)
    out = np.empty(len(values)) if running else None
    for k in range(int(step.max()) + 1 if len(step) else 0):
        at = step == k
        total[group[at]] += values[at]
        if running:
            out[at] = total[group[at]]
    return out if running else total


def objects(values) -> np.ndarray:
    """A 1-d object array of the values (strings, None), whatever they are."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def group_sums(values: np.ndarray, bounds: np.ndarray, mask: np.ndarray | None = None):
    """Sum of ``values[bounds[a]:bounds[a + 1]]`` (where ``mask``) for each a, in order."""
    sel = np.arange(len(values)) if mask is None else np.flatnonzero(mask)
    vals, cut = values[sel], np.searchsorted(sel, bounds)
    return [vals[cut[a]:cut[a + 1]].sum() for a in range(len(bounds) - 1)]


def interleave(first, second) -> np.ndarray:
    """first[0], second[0], first[1], second[1], ..."""
    out = np.empty(2 * len(first), dtype=np.result_type(np.asarray(first), np.asarray(second)))
    out[0::2], out[1::2] = first, second
    return out


def leg_parties(legs: pd.DataFrame, first: str, second: str) -> tuple[np.ndarray, list, list]:
    """``pair_codes`` of (market, legs[first]), (market, legs[second]) leg by leg."""
    market = legs["market"].to_numpy(dtype=object)
    return pair_codes(interleave(market, market), interleave(
        legs[first].to_numpy(dtype=object), legs[second].to_numpy(dtype=object)))


def leg_lookup(table: pd.Series, first: pd.Series, trade: np.ndarray, node: np.ndarray,
               tree: AreaTree) -> np.ndarray:
    """``table[(first[trade], name of node)]`` per leg (trade, node), 0.0 if absent.

    ``table``: indexed by (key, market name); ``first``: each trade's key."""
    keys, markets = table.index.get_level_values(0), table.index.get_level_values(1)
    both, _ = pd.factorize(pd.concat([pd.Series(keys), first], ignore_index=True))
    own, theirs = both[:len(keys)], both[len(keys):]
    area = tree.codes(markets)
    known = pd.Index(own[area >= 0] * len(tree) + area[area >= 0])
    at = known.get_indexer(theirs[trade] * len(tree) + node)
    return np.append(table.to_numpy(dtype=float)[area >= 0], 0.0)[at]  # -1: the 0.0
