"""JSON-schema validation errors as KrakenD writes them (gojsonschema's wording).

KrakenD CE 2.9 validates with gojsonschema and answers ``err.Error()``:
one ``- <field>: <description>`` line per error, joined with newlines,
where ``<field>`` is ``(root)`` or the dotted instance path
(``address.number``, ``items.0``).  The ``jsonschema`` library finds the
same errors but words them differently, so ``describe`` rewrites the common
keywords in gojsonschema's words (``Invalid type. Expected: number, given:
object``, ``foo is required``...) and keeps the library's text for the rare
ones.  ``ordered`` sorts errors into gojsonschema's keyword order and drops
what gojsonschema never reports (other keywords of a node whose ``type``
already failed).

Pure functions, no state.
"""
from __future__ import annotations

import ast
import functools
import json
from typing import Any, Iterable, Iterator, Sequence

import re2
from jsonschema.exceptions import ValidationError

from app import jsoncodec

#: gojsonschema checks a node in this order (``validateRecursive``, ``validateSchema``,
#: then the kind-specific checks, ``validateCommon``, then the child properties).
_RANK = {name: rank for rank, names in enumerate((
    ("$ref", "type"), ("anyOf",), ("oneOf",), ("allOf",), ("not",),
    ("dependencies", "dependentRequired", "dependentSchemas"), ("if", "then", "else"),
    ("multipleOf",), ("maximum",), ("exclusiveMaximum",), ("minimum",), ("exclusiveMinimum",),
    ("minLength",), ("maxLength",), ("pattern",), ("format",),
    ("items", "prefixItems", "additionalItems"), ("minItems",), ("maxItems",), ("uniqueItems",), ("contains",),
    ("minProperties",), ("maxProperties",), ("required",), ("additionalProperties", "patternProperties"),
    ("propertyNames",), ("const",), ("enum",), ("properties",),
)) for name in names}
#: Keywords followed in a schema path by a property name rather than a keyword.
_NAMED = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependencies",
                    "dependentSchemas"})


@functools.lru_cache(maxsize=512)
def regex(pattern: str) -> Any:
    """A schema pattern compiled with RE2, the engine of Go's regexp: linear time on any input."""
    return re2.compile(pattern)


def search(pattern: str, text: str) -> bool:
    compiled = regex(pattern)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:
        return compiled.search(jsoncodec.without_surrogates(text)) is not None


def field(error: ValidationError) -> str:
    """gojsonschema's field: ``(root)`` or the instance path joined with dots."""
    path = error.absolute_path
    return ".".join(str(part) for part in path) if path else "(root)"


def json_type(value: Any) -> str:
    """The JSON type name gojsonschema reports as ``given`` (integral numbers are ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def number(value: Any) -> str:
    """A schema number as Go's ``big.Float`` prints it (``%.10g``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else format(value, ".10g")


def _json(value: Any) -> str:
    """A value as gojsonschema marshals it for ``enum``/``const`` (integral numbers without ``.0``)."""
    return jsoncodec.dumps(_plain_numbers(value)).decode()


def _plain_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    return value


def _expected(types: Any) -> str:
    if isinstance(types, list):
        return types[0] if len(types) == 1 else "[" + ",".join(str(t) for t in types) + "]"
    return str(types)


def _quoted(message: Any, separator: str) -> str:
    """The name the library wrote as a Python repr before ``separator`` in its message."""
    literal = str(message).split(separator, 1)[0]
    try:
        return str(ast.literal_eval(literal))
    except (ValueError, SyntaxError):
        return literal


def _required_property(error: ValidationError) -> str:
    """The missing property of a ``required`` error (``'foo' is a required property``)."""
    return _quoted(error.message, " is a required property")


def _additional(error: ValidationError) -> list[str]:
    """The properties ``additionalProperties: false`` refused, in instance order."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties") or {}
    patterns = list((schema.get("patternProperties") or {}).keys())
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [name for name in instance
            if name not in known and not any(search(p, name) for p in patterns)]


def canonical(value: Any) -> str:
    """The JSON text gojsonschema compares items by: sorted keys, integral numbers without ``.0``.

    ``json`` rather than ``jsoncodec`` (orjson): a body may nest deeper than orjson's 255 levels.
    """
    return json.dumps(_plain_numbers(value), sort_keys=True, separators=(",", ":"))


def _duplicate(items: Sequence[Any]) -> tuple[int, int]:
    """The first pair (i, j) of equal items, compared as gojsonschema does (by JSON text)."""
    seen: dict[str, int] = {}
    for j, item in enumerate(items):
        key = canonical(item)
        if key in seen:
            return seen[key], j
        seen[key] = j
    return 0, 0


def _bound(error: ValidationError, keyword: str) -> str:
    """minimum/maximum, with draft-04's boolean ``exclusiveMinimum``/``exclusiveMaximum``."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = number(error.validator_value)
    if keyword == "minimum":
        return f"Must be greater than {value}" if schema.get("exclusiveMinimum") is True \
            else f"Must be greater than or equal to {value}"
    return f"Must be less than {value}" if schema.get("exclusiveMaximum") is True \
        else f"Must be less than or equal to {value}"


_SIMPLE = {
    "exclusiveMinimum": "Must be greater than {n}",
    "exclusiveMaximum": "Must be less than {n}",
    "multipleOf": "Must be a multiple of {n}",
    "minLength": "String length must be greater than or equal to {v}",
    "maxLength": "String length must be less than or equal to {v}",
    "minItems": "Array must have at least {v} items",
    "maxItems": "Array must have at most {v} items",
    "minProperties": "Must have at least {v} properties",
    "maxProperties": "Must have at most {v} properties",
    "pattern": "Does not match pattern '{v}'",
    "format": "Does not match format '{v}'",
    "anyOf": "Must validate at least one schema (anyOf)",
    "oneOf": "Must validate one and only one schema (oneOf)",
    "not": "Must not validate the schema (not)",
    "contains": "At least one of the items must match",
}


def describe(error: ValidationError) -> list[str]:
    """The ``<field>: <description>`` lines of one error (several for additional properties)."""
    where, keyword, value = field(error), error.validator, error.validator_value
    if keyword == "type":
        return [f"{where}: Invalid type. Expected: {_expected(value)}, given: {json_type(error.instance)}"]
    if keyword == "required":
        return [f"{where}: {_required_property(error)} is required"]
    if keyword == "additionalProperties" and value is False:
        return [f"{where}: Additional property {name} is not allowed" for name in _additional(error)] \
            or [f"{where}: {error.message}"]
    if keyword == "enum" and isinstance(value, list):
        return [f"{where}: {where} must be one of the following: {', '.join(_json(v) for v in value)}"]
    if keyword == "const":
        return [f"{where}: {where} does not match: {_json(value)}"]
    if keyword in ("minimum", "maximum"):
        return [f"{where}: {_bound(error, str(keyword))}"]
    if keyword == "uniqueItems" and isinstance(error.instance, list):
        i, j = _duplicate(error.instance)
        return [f"{where}: array items[{i},{j}] must be unique"]
    if keyword in ("dependencies", "dependentRequired"):
        return [f"{where}: Has a dependency on {_required_property_of_dependency(error)}"]
    if keyword == "false" or (keyword is None and error.schema is False):
        return [f"{where}: False always fails validation"]
    template = _SIMPLE.get(str(keyword))
    if template is not None:
        return [f"{where}: " + template.format(n=number(value), v=value)]
    return [f"{where}: {error.message}"]


def _required_property_of_dependency(error: ValidationError) -> str:
    """The property a dependency needs (``'bar' is a dependency of 'foo'``)."""
    return _quoted(error.message, " is a dependency of ")


def _order_key(error: ValidationError) -> tuple[int, ...]:
    """gojsonschema's keyword ranks along the error's schema path (names and indexes skipped)."""
    key: list[int] = []
    skip = False
    for segment in error.schema_path:
        if skip or isinstance(segment, int):
            skip = False
            continue
        key.append(_RANK.get(str(segment), len(_RANK)))
        skip = segment in _NAMED
    return tuple(key)


def ordered(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """Errors in gojsonschema's order, without those it never reports.

    gojsonschema stops checking a node as soon as its ``type`` fails, so
    other errors of that same node and subschema are dropped.
    """
    errors = list(errors)
    typed = {(tuple(e.absolute_path), tuple(e.absolute_schema_path)[:-1]) for e in errors if e.validator == "type"}
    kept = [e for e in errors if e.validator == "type"
            or (tuple(e.absolute_path), tuple(e.absolute_schema_path)[:-1]) not in typed]
    return sorted(kept, key=_order_key)


def lines(errors: Iterable[ValidationError]) -> Iterator[str]:
    """Every line KrakenD would write for ``errors``, anyOf/oneOf followed by their closest branch."""
    for error in ordered(errors):
        yield from describe(error)
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from lines(_closest_branch(error.context))


def _closest_branch(context: Sequence[ValidationError]) -> list[ValidationError]:
    """The errors of the branch the body came closest to (gojsonschema shows its best-scoring branch).

    gojsonschema scores a branch by the checks that passed; a branch whose
    ``type`` failed scores least, so: fewest type errors, then fewest errors.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in context:
        branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(sub)
    return min(branches.values(), key=lambda errors: (sum(e.validator == "type" for e in errors), len(errors))) \
        if branches else []
