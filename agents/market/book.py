"""Order books from JSON-like data: parse and validate, at the edge (CLI, files).

A book is ``{"bids": [...], "offers": [...]}``; a bid is ``{"id", "buyer", "energy_kwh",
"rate_ct_per_kwh"}``, an offer ``{"id", "seller", "energy_kwh", "rate_ct_per_kwh"}``.
Energies in kWh (finite, >= 0: what the buyer wants, what the seller sells; no sign
convention applies to an order), rates in ct/kWh (finite, may be negative). Ids are
non-empty strings, unique within each side (a bid and an offer may share one: trades
name both). Either list may be empty.

``parse_book`` raises ``BookError`` at the first problem, with a message that names the
field path, the value and what is allowed, e.g.
``bids[3].energy_kwh: -2.0 is not allowed: a finite number >= 0``.
"""

from __future__ import annotations

import difflib
import json
import math

from agents.market.clearing import Order

SIDES = {"bids": "buyer", "offers": "seller"}  # side -> its trader key
_OTHER = {"buyer": "seller", "seller": "buyer"}


class BookError(ValueError):
    """An order book that cannot be read; the message names the field and what is allowed."""


def _show(value) -> str:
    """The value as JSON would write it (strings quoted, true/false, NaN), shortened."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: Most orders on one side of a book (bounds the clearing time).
MAX_ORDERS = 50_000


def _refuse(path: str, value, allowed: str) -> BookError:
    return BookError(f"{path}: {_show(value)} is not allowed: {allowed}")


def _missing(path: str, allowed: str) -> BookError:
    return BookError(f"{path}: missing; required: {allowed}")


def _unknown(path: str, key, allowed: list[str], aliases: dict[str, str]) -> BookError:
    close = aliases.get(key) or difflib.get_close_matches(str(key), allowed, n=1, cutoff=0)[0]
    return BookError(f"{path}.{key}: unknown key {key!r}; did you mean {close!r}? "
                     f"(allowed: {', '.join(allowed)})")


def _text(obj: dict, key: str, path: str) -> str:
    if key not in obj:
        raise _missing(f"{path}.{key}", "a non-empty string")
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise _refuse(f"{path}.{key}", value, "a non-empty string")
    return value


def _number(obj: dict, key: str, path: str, minimum: float | None) -> float:
    allowed = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    if key not in obj:
        raise _missing(f"{path}.{key}", allowed)
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"{path}.{key}", value, allowed)
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise _refuse(f"{path}.{key}", value, allowed) from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise _refuse(f"{path}.{key}", value, allowed)
    return number


def _orders(raw, side: str) -> list[Order]:
    trader = SIDES[side]
    keys = ["id", trader, "energy_kwh", "rate_ct_per_kwh"]
    aliases = {_OTHER[trader]: trader, "trader": trader, "name": "id",
               **dict.fromkeys(("rate", "price"), "rate_ct_per_kwh"),
               **dict.fromkeys(("energy", "quantity", "amount"), "energy_kwh")}
    if not isinstance(raw, list):
        raise _refuse(side, raw, f"a list of {side} (an empty list is fine)")
    if len(raw) > MAX_ORDERS:
        raise BookError(f"{side}: {len(raw):,} orders; at most {MAX_ORDERS:,} per side")
    orders: list[Order] = []
    seen: dict[str, int] = {}
    for k, item in enumerate(raw):
        path = f"{side}[{k}]"
        if not isinstance(item, dict):
            raise _refuse(path, item, f"an object with {', '.join(keys)}")
        for key in item:
            if key not in keys:
                raise _unknown(path, key, keys, aliases)
        order_id = _text(item, "id", path)
        if order_id in seen:
            raise _refuse(f"{path}.id", order_id,
                          f"an id not used by another of the {side} "
                          f"({side}[{seen[order_id]}] has it already)")
        seen[order_id] = k
        name = _text(item, trader, path)
        energy_kwh = _number(item, "energy_kwh", path, minimum=0.0)
        rate = _number(item, "rate_ct_per_kwh", path, minimum=None)
        orders.append(Order(order_id, name, energy_kwh, rate))
    return orders


def parse_book(obj) -> tuple[list[Order], list[Order]]:
    """Bids and offers of a book read from JSON.

    Parameters
    ----------
    obj : object
        The decoded JSON: ``{"bids": [...], "offers": [...]}`` (see the module docstring).

    Returns
    -------
    bids, offers : list of Order
        In the book's order; ``trader`` is the bid's buyer or the offer's seller,
        energies [kWh] and rates [ct/kWh] as floats.

    Raises
    ------
    BookError
        At the first problem, naming the field path, the value and what is allowed.
    """
    if not isinstance(obj, dict):
        raise _refuse("book", obj, 'an object {"bids": [...], "offers": [...]}')
    for key in obj:
        if key not in SIDES:
            raise BookError(f"book.{key}: unknown key {key!r}; did you mean "
                            f"{difflib.get_close_matches(str(key), list(SIDES), 1, 0)[0]!r}? "
                            "(allowed: bids, offers)")
    for side in SIDES:
        if side not in obj:
            raise _missing(side, f"a list of {side} (an empty list is fine)")
    return _orders(obj["bids"], "bids"), _orders(obj["offers"], "offers")
