"""JSON-schema keywords as gojsonschema runs them, bounded per request (for ``validation/json-schema``).

The ``jsonschema`` library's own versions of these keywords differ from
gojsonschema (KrakenD's) where it matters on a gateway, whose bodies come
from anybody:

* ``pattern``, ``patternProperties``, ``additionalProperties``: the regular
  expressions run on RE2, Go's engine (linear time; Python's backtracking
  ``re`` can take exponential time on a crafted string);
* ``format: regex``: the body's string is compiled by RE2 (Go's syntax;
  Python's ``re`` raises ``OverflowError`` on ``a{4294967296}``);
* ``multipleOf``: exact on the decimal literals, as gojsonschema's
  ``big.Rat`` (``19.99`` is a multiple of ``0.01``; the library's float
  division says no, and raises ``OverflowError`` on a 400-digit integer);
* ``uniqueItems``: canonical JSON texts in a set, as gojsonschema's map
  (the library compares every pair of unsortable items: 3,000 objects took
  30 s);
* ``anyOf``, ``oneOf``: a failing branch keeps only its first
  ``BRANCH_ERRORS`` errors, enough for the message (the library keeps every
  one, some 3 KiB each: a 1 MiB array can fail 500,000 times, 1.6 GB).

Every keyword also stops once the request's ``deadline`` has passed (the
library needs some 16 us per array item, 8 s for a 1 MiB array); the
caller bounds the errors it keeps with ``weight``.  Pure functions; the
deadline is per thread (a ``ContextVar``).
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from typing import Any, Callable, Iterator

import re2
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from app import jsoncodec
from app.validation import schema_messages

#: Errors kept per failing ``anyOf``/``oneOf`` branch: enough to show why it failed.
BRANCH_ERRORS = 100
Keyword = Callable[[Validator, Any, Any, Any], Iterator[ValidationError]]


class DeadlineExceeded(Exception):
    """The validation ran past the request's deadline."""


_DEADLINE: ContextVar[float] = ContextVar("propylon_jsonschema_deadline", default=math.inf)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Keywords run inside raise ``DeadlineExceeded`` once ``time.monotonic()`` is past ``at``."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _timed(keyword: Keyword) -> Keyword:
    def timed(validator: Validator, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if time.monotonic() > _DEADLINE.get():
            raise DeadlineExceeded()
        yield from keyword(validator, value, instance, schema) or ()  # None is allowed, as in iter_errors
    return timed


def weight(error: ValidationError) -> int:
    """How many errors ``error`` keeps alive: itself and its ``context``, recursively."""
    return 1 + sum(weight(inner) for inner in error.context)


def _branch(validator: Validator, instance: Any, branch: Any, index: int) -> list[ValidationError]:
    """The first errors of one branch, ``BRANCH_ERRORS`` in weight (the library keeps them all)."""
    kept: list[ValidationError] = []
    total = 0
    for error in validator.descend(instance, branch, schema_path=index):
        kept.append(error)
        total += weight(error)
        if total >= BRANCH_ERRORS:
            break
    return kept


def _any_of(validator: Validator, branches: list[Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    context: list[ValidationError] = []
    for index, branch in enumerate(branches):
        errors = _branch(validator, instance, branch, index)
        if not errors:
            return
        context.extend(errors)
    yield ValidationError("is not valid under any of the given schemas", context=context)


def _one_of(validator: Validator, branches: list[Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    context: list[ValidationError] = []
    valid: list[int] = []
    for index, branch in enumerate(branches):
        if valid:  # one branch passed: only whether another one passes too matters now
            if validator.evolve(schema=branch).is_valid(instance):
                valid.append(index)
            continue
        errors = _branch(validator, instance, branch, index)
        context.extend(errors)
        if not errors:
            valid.append(index)
    if not valid:
        yield ValidationError("is not valid under any of the given schemas", context=context)
    elif len(valid) > 1:
        yield ValidationError(f"is valid under each of the schemas {valid}")


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not schema_messages.search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


def _pattern_properties(validator: Validator, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for pattern, subschema in patterns.items():
            for name, value in instance.items():
                if schema_messages.search(pattern, name):
                    yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator: Validator, allowed: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [name for name in instance
              if name not in known and not any(schema_messages.search(p, name) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif allowed is False and extras:
        yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, extras))} unexpected)")


def _exact(number: Any) -> Fraction:
    """A decoded JSON number as the exact decimal it was written as (``repr`` is the shortest round trip)."""
    return Fraction(repr(number)) if isinstance(number, float) else Fraction(number)


def _multiple_of(validator: Validator, divisor: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "number") and (_exact(instance) / _exact(divisor)).denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


def _unique_items(validator: Validator, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array"):
        seen: set[str] = set()
        for item in instance:
            text = schema_messages.canonical(item)
            if text in seen:
                yield ValidationError("has non-unique elements")
                return
            seen.add(text)


KEYWORDS: dict[str, Keyword] = {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties,
    "multipleOf": _multiple_of, "uniqueItems": _unique_items, "anyOf": _any_of, "oneOf": _one_of,
}


def keywords(base: dict[str, Keyword]) -> dict[str, Keyword]:
    """Every keyword of a draft (``base``, its ``VALIDATORS``) with the ones above swapped in, all timed."""
    return {name: _timed(KEYWORDS.get(name, keyword)) for name, keyword in base.items()}


def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        # RE2::Set parses as Go's regexp.Compile does, without re2.compile's module-wide cache (128
        # patterns of up to 1 MiB each, from bodies, held for good) and its stderr line per refused pattern.
        options = re2.Options()
        options.log_errors = False
        re2.Set.SearchSet(options).Add(jsoncodec.without_surrogates(instance))
    return True


def format_checker(base: FormatChecker) -> FormatChecker:
    """A copy of a draft's format checker whose ``regex`` is Go's (RE2); the draft's own is left alone.

    Used for the body and for the schema's own check against its meta-schema (``pattern: "\\p{L}"`` is
    Go syntax that Python's ``re`` refuses).
    """
    checker = FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    if "regex" in checker.checkers:
        checker.checks("regex", raises=re2.error)(_is_regex)
    return checker


def finite(literal: str) -> float:
    """``parse_float`` for bodies: ``1e400`` would be infinity, which JSON cannot say."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal} is out of range")
    return value
