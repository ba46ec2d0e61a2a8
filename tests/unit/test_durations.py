"""app.config.durations.parse_duration: Go duration strings to seconds (reference §1.2)."""
from __future__ import annotations

import re

import pytest

from app.config.durations import parse_duration

VALID = [
    ("150us", 150e-6),
    ("150µs", 150e-6),          # U+00B5 micro sign
    ("150μs", 150e-6),          # U+03BC Greek mu
    ("10ns", 10e-9),
    ("100ms", 0.1),
    ("3000ms", 3.0),
    ("3s", 3.0),
    ("2m", 120.0),
    ("1h", 3600.0),
    ("1h30m", 5400.0),
    ("1m30.5s", 90.5),
    ("1h0m0s", 3600.0),
    ("1.5s", 1.5),
    (".5s", 0.5),
    ("2.h", 7200.0),
    ("0", 0.0),
    ("0s", 0.0),
    ("-0", 0.0),
    ("-1.5s", -1.5),
    ("+2s", 2.0),
    (3000, 3e-6),               # a bare JSON number is nanoseconds
    (0, 0.0),
    (1_500_000_000, 1.5),
    (2.5e9, 2.5),
]


@pytest.mark.parametrize(("value", "seconds"), VALID, ids=[repr(v) for v, _ in VALID])
def test_parse_duration_valid(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds, rel=1e-12, abs=1e-18)


INVALID = [
    "3d",           # no day unit in Go
    "1w",
    "",
    "ms",           # unit without a number
    "s3",
    "3",            # number without a unit (only a bare 0 is allowed)
    "00",
    "1.5.5s",
    "3 s",
    "1h 30m",
    "3sec",
    "-",
    ".s",
    True,
    False,
    None,
    [],
    {"s": 3},
]


@pytest.mark.parametrize("value", INVALID, ids=[repr(v) for v in INVALID])
def test_parse_duration_invalid_names_the_value(value: object) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        parse_duration(value)


@pytest.mark.parametrize("value", ["--3s", "+-3s", "-+3s"], ids=["double-minus", "plus-minus", "minus-plus"])
def test_parse_duration_rejects_repeated_sign(value: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_parse_duration_rejects_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)
