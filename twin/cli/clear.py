"""``python run.py clear BOOK.json --rule RULE``: clear one order book, print the trades.

Reads a book (``agents.market.book``), clears it with one rule of
``agents.market.clearing`` and prints JSON ``{"rule", "clearing_rate_ct_per_kwh",
"trades"}``, the trades in matching order. Exit codes as the rest of the CLI: 0 cleared
(also when nothing trades), 2 bad input (missing file, invalid JSON, invalid book).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from twin.cli.options import RULES, error

HELP = """\
Clear one order book with one rule and print the trades as JSON:
{"rule", "clearing_rate_ct_per_kwh", "trades": [{"bid_id", "offer_id", "buyer",
"seller", "energy_kwh", "rate_ct_per_kwh"}, ...]} in matching order.

BOOK.json: {"bids": [{"id", "buyer", "energy_kwh", "rate_ct_per_kwh"}, ...],
            "offers": [{"id", "seller", "energy_kwh", "rate_ct_per_kwh"}, ...]}
energies in kWh (>= 0), rates in ct/kWh (may be negative), ids unique per side.

rules:
  pay_as_bid    gsy two-sided pay-as-bid: offers from the highest rate down take the
                highest bids; each trade at its bid's rate
  pay_as_clear  gsy two-sided pay-as-clear: one clearing rate (a bid rate) for all;
                self-pairs (a trader's bid with its own offer) are dropped, as gsy's
                market does
  pay_as_offer  one-sided: each bid in turn takes the cheapest offers, at the offer's
                rate; ties broken by numpy's default_rng(--seed)
  pda_uniform   HAMLET's periodic double auction: one price, the mean of the last
                matched bid's and offer's rates
No one trades with itself under pay_as_bid, pay_as_offer and pda_uniform either.
clearing_rate_ct_per_kwh is null for pay_as_bid and pay_as_offer, and when nothing
clears.
"""


def add_clear_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``clear`` command to the CLI's subparsers."""
    p = subparsers.add_parser("clear", help="clear an order book with one market rule",
                              description=HELP, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("book", type=Path, help="order book JSON file (format above)")
    p.add_argument("--rule", required=True, choices=RULES, help="clearing rule (see above)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of pay_as_offer's tie-break (numpy default_rng; default 0)")
    return p


def clear(bids, offers, rule: str, seed: int = 0) -> dict:
    """The printed result of clearing ``bids`` and ``offers`` with ``rule``."""
    import numpy as np  # numpy with the clearing rules: only when a book is cleared

    from agents.market import clearing

    rate = None
    if rule == "pay_as_bid":
        trades = clearing.pay_as_bid(bids, offers)
    elif rule == "pay_as_offer":
        trades = clearing.pay_as_offer(bids, offers, np.random.default_rng(seed))
    elif rule == "pay_as_clear":
        rate, trades = clearing.pay_as_clear(bids, offers, self_trades=False)
    elif rule == "pda_uniform":
        rate, trades = clearing.pda_uniform(bids, offers)
    else:
        raise ValueError(f"unknown rule {rule!r} (allowed: {', '.join(RULES)})")
    return {"rule": rule, "clearing_rate_ct_per_kwh": rate if trades else None,
            "trades": [asdict(t) for t in trades]}


def cmd_clear(args) -> int:
    """Run ``clear``: read, validate and clear the book, print JSON; the exit code."""
    # the book's reader (with the clearing rules: numpy) and the JSON reader: only now
    from agents.market.book import BookError, parse_book
    from twin.scenario.reading import InputProblem, read_json_file

    try:
        raw = read_json_file(args.book)
    except InputProblem as exc:
        return error(exc.message)
    try:
        bids, offers = parse_book(raw)
    except BookError as exc:
        return error(f"{args.book}: {exc}")
    print(json.dumps(clear(bids, offers, args.rule, args.seed), indent=2))
    return 0
