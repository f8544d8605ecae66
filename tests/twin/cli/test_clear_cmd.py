"""``python run.py clear BOOK.json --rule RULE``: a user's run (subprocess) for a couple of
cases, ``twin.cli.main.main`` in process for the rest (same parser, same exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from agents.market.book import BookError, parse_book
from tests import REPO
from twin.cli.main import main

ROOT = REPO
EXAMPLE = "examples/order_book.json"

# examples/order_book.json worked by hand (see the rules' docstrings in clearing.py):
# bids B1 alice 4@28, B2 bob 3@22, B3 carol 2@22, B4 dave 2@12;
# offers O1 erin 3@10, O2 alice 2@8, O3 frank 4@20, O4 gina 2@26
EXPECTED = {
    # offers descending O4, O3, O1, O2 each take the bids B1, B3, B2, B4 (equal 22s: the
    # later first) at the bid's rate
    "pay_as_bid": (None, [("B1", "O4", 2, 28), ("B1", "O3", 2, 28), ("B3", "O3", 2, 22),
                          ("B2", "O1", 3, 22), ("B4", "O2", 2, 12)]),
    # at 22 supply 3 + 2 + 4 = 9 covers demand 4 + 3 + 2 = 9 (at 12 it does not): B1 fills
    # 2 from its own O2 (dropped) and 2 from O1, B3 1 from O1 and 1 from O3, B2 3 from O3
    "pay_as_clear": (22, [("B1", "O1", 2, 22), ("B3", "O1", 1, 22), ("B3", "O3", 1, 22),
                          ("B2", "O3", 3, 22)]),
    # bids in input order take the cheapest offers of others at the offer's rate;
    # B4 (12) finds O1 and O2 gone
    "pay_as_offer": (None, [("B1", "O1", 3, 10), ("B1", "O3", 1, 20), ("B2", "O2", 2, 8),
                            ("B2", "O3", 1, 20), ("B3", "O3", 2, 20)]),
    # bids B1, B3, B2 meet offers ascending (B1 skips its own O2); B4 (12) meets none;
    # the last pair B2/O3 sets the price (22 + 20) / 2
    "pda_uniform": (21, [("B1", "O1", 3, 21), ("B1", "O3", 1, 21), ("B3", "O2", 2, 21),
                         ("B2", "O3", 3, 21)]),
}
TRADE_KEYS = ["bid_id", "offer_id", "buyer", "seller", "energy_kwh", "rate_ct_per_kwh"]


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", "clear", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _clear(capsys, *args: str):
    code = main(["clear", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(result):
    return [(t["bid_id"], t["offer_id"], t["energy_kwh"], t["rate_ct_per_kwh"])
            for t in result["trades"]]


def test_clear_example_pay_as_clear_as_a_user_runs_it():
    proc = _subprocess(EXAMPLE, "--rule", "pay_as_clear")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == ["rule", "clearing_rate_ct_per_kwh", "trades"]
    assert result["rule"] == "pay_as_clear"
    rate, trades = EXPECTED["pay_as_clear"]
    assert result["clearing_rate_ct_per_kwh"] == rate and _rows(result) == trades
    assert result["trades"][0] == {"bid_id": "B1", "offer_id": "O1", "buyer": "alice",
                                   "seller": "erin", "energy_kwh": 2.0, "rate_ct_per_kwh": 22.0}


def test_clear_bad_book_as_a_user_runs_it(tmp_path):
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"bids": [{"id": "B1", "buyer": "a", "energy_kwh": -2.0,
                                          "rate_ct_per_kwh": 20}], "offers": []}))
    proc = _subprocess(str(path), "--rule", "pay_as_bid")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"error: {path}: bids[0].energy_kwh: -2.0 is not allowed: "
                           "a finite number >= 0\n")


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_clear_example_each_rule(capsys, rule):
    code, out, err = _clear(capsys, EXAMPLE, "--rule", rule)
    assert code == 0, err
    result = json.loads(out)
    rate, trades = EXPECTED[rule]
    assert result["rule"] == rule and result["clearing_rate_ct_per_kwh"] == rate
    assert _rows(result) == trades
    assert all(list(t) == TRADE_KEYS for t in result["trades"])


@pytest.mark.parametrize("seed", range(4))
def test_clear_pay_as_offer_seed_breaks_ties(capsys, tmp_path, seed):
    path = tmp_path / "ties.json"
    path.write_text(json.dumps({
        "bids": [{"id": "B1", "buyer": "a", "energy_kwh": 1, "rate_ct_per_kwh": 30}],
        "offers": [{"id": f"O{i}", "seller": f"s{i}", "energy_kwh": 1, "rate_ct_per_kwh": 20}
                   for i in range(3)]}))
    code, out, _ = _clear(capsys, str(path), "--rule", "pay_as_offer", "--seed", str(seed))
    expected = f"O{int(np.random.default_rng(seed).integers(3))}"
    assert code == 0 and _rows(json.loads(out)) == [("B1", expected, 1.0, 20.0)]


def test_clear_nothing_clears_gives_null_rate_and_no_trades(capsys, tmp_path):
    path = tmp_path / "apart.json"
    path.write_text(json.dumps({
        "bids": [{"id": "B1", "buyer": "a", "energy_kwh": 1, "rate_ct_per_kwh": -3}],
        "offers": [{"id": "O1", "seller": "s", "energy_kwh": 1, "rate_ct_per_kwh": -2.5}]}))
    for rule in EXPECTED:
        code, out, _ = _clear(capsys, str(path), "--rule", rule)
        assert code == 0
        assert json.loads(out) == {"rule": rule, "clearing_rate_ct_per_kwh": None, "trades": []}


def test_clear_only_self_pairs_under_pay_as_clear_clears_nothing(capsys, tmp_path):
    path = tmp_path / "self.json"
    path.write_text(json.dumps({
        "bids": [{"id": "B1", "buyer": "a", "energy_kwh": 1, "rate_ct_per_kwh": 20}],
        "offers": [{"id": "O1", "seller": "a", "energy_kwh": 1, "rate_ct_per_kwh": 10}]}))
    code, out, _ = _clear(capsys, str(path), "--rule", "pay_as_clear")
    assert code == 0 and json.loads(out)["clearing_rate_ct_per_kwh"] is None


def test_clear_help_says_pay_as_clear_drops_self_pairs(capsys):
    assert main(["clear", "--help"]) == 0
    out = capsys.readouterr().out
    assert "self-pairs" in out and "dropped" in out and "--seed" in out
    assert main(["--help"]) == 0
    assert "clear BOOK.json" in capsys.readouterr().out


def _bid(**fields):
    return {"id": "B1", "buyer": "a", "energy_kwh": 1.0, "rate_ct_per_kwh": 20.0, **fields}


def _offer(**fields):
    return {"id": "O1", "seller": "s", "energy_kwh": 1.0, "rate_ct_per_kwh": 10.0, **fields}


def _without(order, key):
    return {k: v for k, v in order.items() if k != key}


BAD_BOOKS = [
    ([_bid()], "book: [{"),  # not an object (the value is shown, then what is allowed)
    ({"offers": []}, "bids: missing; required: a list of bids (an empty list is fine)"),
    ({"bids": {"B1": 1}, "offers": []}, 'bids: {"B1": 1} is not allowed: a list of bids'),
    ({"bids": [], "offers": "none"}, 'offers: "none" is not allowed: a list of offers'),
    ({"bids": [5], "offers": []}, "bids[0]: 5 is not allowed: an object with id, buyer, "),
    ({"bids": [_without(_bid(), "id")], "offers": []},
     "bids[0].id: missing; required: a non-empty string"),
    ({"bids": [_bid(id=7)], "offers": []}, "bids[0].id: 7 is not allowed: a non-empty string"),
    ({"bids": [], "offers": [_offer(id="")]},
     'offers[0].id: "" is not allowed: a non-empty string'),
    ({"bids": [], "offers": [_offer(), _offer(seller="t")]},
     'offers[1].id: "O1" is not allowed: an id not used by another of the offers '
     "(offers[0] has it already)"),
    ({"bids": [_without(_bid(), "buyer")], "offers": []},
     "bids[0].buyer: missing; required: a non-empty string"),
    ({"bids": [], "offers": [_without(_offer(), "seller")]},
     "offers[0].seller: missing; required: a non-empty string"),
    ({"bids": [_bid(energy_kwh=-2.0)], "offers": []},
     "bids[0].energy_kwh: -2.0 is not allowed: a finite number >= 0"),
    ({"bids": [_bid(energy_kwh=float("nan"))], "offers": []},
     "bids[0].energy_kwh: NaN is not allowed: a finite number >= 0"),
    ({"bids": [], "offers": [_offer(energy_kwh=float("inf"))]},
     "offers[0].energy_kwh: Infinity is not allowed: a finite number >= 0"),
    ({"bids": [_bid(energy_kwh=True)], "offers": []},
     "bids[0].energy_kwh: true is not allowed: a finite number >= 0"),
    ({"bids": [_bid(rate_ct_per_kwh="20")], "offers": []},
     'bids[0].rate_ct_per_kwh: "20" is not allowed: a finite number'),
    ({"bids": [], "offers": [_offer(rate_ct_per_kwh=float("-inf"))]},
     "offers[0].rate_ct_per_kwh: -Infinity is not allowed: a finite number"),
    ({"bids": [], "offers": [_without(_offer(), "rate_ct_per_kwh")]},
     "offers[0].rate_ct_per_kwh: missing; required: a finite number"),
    ({"bids": [{**_without(_bid(), "rate_ct_per_kwh"), "rate": 20}], "offers": []},
     "bids[0].rate: unknown key 'rate'; did you mean 'rate_ct_per_kwh'? "
     "(allowed: id, buyer, energy_kwh, rate_ct_per_kwh)"),
    ({"bids": [{**_without(_bid(), "buyer"), "seller": "a"}], "offers": []},
     "bids[0].seller: unknown key 'seller'; did you mean 'buyer'?"),
    ({"bids": [], "offers": [_offer(energy_kwhh=1)]},
     "offers[0].energy_kwhh: unknown key 'energy_kwhh'; did you mean 'energy_kwh'?"),
    ({"bid": [], "offers": []}, "book.bid: unknown key 'bid'; did you mean 'bids'? "
                                "(allowed: bids, offers)"),
]


@pytest.mark.parametrize(("book", "message"), BAD_BOOKS)
def test_clear_bad_books_exit_2_naming_the_field(capsys, tmp_path, book, message):
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))  # NaN and Infinity as Python's json writes them
    code, out, err = _clear(capsys, str(path), "--rule", "pay_as_bid")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(BookError, match=r"^\S+: "):
        parse_book(book)


def test_parse_book_accepts_empty_sides_negative_rates_and_gives_floats():
    bids, offers = parse_book({"bids": [_bid(rate_ct_per_kwh=-4, energy_kwh=0)],
                               "offers": []})
    assert offers == [] and bids[0].rate_ct_per_kwh == -4.0 and bids[0].energy_kwh == 0.0
    assert isinstance(bids[0].rate_ct_per_kwh, float) and bids[0].trader == "a"
    bids, offers = parse_book({"bids": [_bid()], "offers": [_offer(id="B1")]})
    assert (bids[0].id, offers[0].id) == ("B1", "B1")  # ids are unique per side


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read {path}: No such file or directory"),
    ("{bids: []", "{path} is not valid JSON: Expecting property name enclosed in double "
                  "quotes: line 1 column 2 (char 1)"),
    ("", "{path} is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
])
def test_clear_missing_file_and_invalid_json(capsys, tmp_path, content, message):
    path = tmp_path / "book.json"
    if content is not None:
        path.write_text(content)
    code, out, err = _clear(capsys, str(path), "--rule", "pda_uniform")
    assert code == 2 and out == ""
    assert err == f"error: {message.format(path=path)}\n"


def test_clear_unknown_rule_exit_2(capsys):
    code, out, err = _clear(capsys, EXAMPLE, "--rule", "pay_as_you_go")
    assert code == 2 and "invalid choice: 'pay_as_you_go'" in err and "Traceback" not in err
