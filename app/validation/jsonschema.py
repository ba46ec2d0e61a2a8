"""``validation/json-schema``: the request body checked against a JSON schema before any backend call.

Namespace ``validation/json-schema`` on an endpoint; its whole value is the schema::

    "validation/json-schema": {
        "type": "object",
        "required": ["number", "street_name"],
        "properties": {"number": {"type": "number"}, "street_name": {"type": "string"}}
    }

Keys: every JSON-schema keyword.  The draft is the one ``$schema`` names
(draft-04, -06, -07, 2019-09, 2020-12), draft-07 without ``$schema``
(the closest to KrakenD's gojsonschema, which mixes drafts 4 to 7);
``format`` is asserted, as gojsonschema does.

Answers, as krakend-jsonschema (an error with ``StatusCode() 400``, so the
client sees 400 with ``X-Krakend`` headers; the text only with
``router.return_error_msg``): an empty body is ``could not validate an
empty body``, a body that is not JSON ``could not validate a malformed
body``, and a body the schema refuses one ``- <field>: <description>`` line
per error in gojsonschema's words (``- (root): Invalid type. Expected:
number, given: object``).  The backends are never called.

Regular expressions (``pattern``, ``patternProperties``, ``format: regex``)
run on RE2, the engine of Go's regexp that gojsonschema uses: linear time
on any body, and the same syntax (``\\p{L}``; no lookarounds or
backreferences); a lone surrogate (``"\\ud800"``) is U+FFFD, as Go decodes
it.  ``multipleOf`` is exact on the decimal literals (``19.99`` is a
multiple of ``0.01``) and ``uniqueItems`` compares JSON texts, as
gojsonschema; see ``schema_keywords``.

Deviations: a schema that is not valid against its meta-schema, with a
pattern RE2 refuses, or with a ``$ref`` that cannot be resolved inside the
schema, stops start-up with its JSON path (KrakenD logs it and skips
validation); remote ``$ref``s are never fetched (the ``jsonschema`` library
would download them); a zero-length body gets the empty-body text (KrakenD
2.9 says "malformed": Go hands it a non-nil empty body; later KrakenD says
"empty"); NaN/Infinity and trailing data after the JSON value are malformed
(gojsonschema ignores what follows the first value), and so is a number
beyond the float range (``1e400``); at most ``MAX_LINES`` error lines are
listed; validation stops after ``MAX_ERRORS`` errors, each of which costs
some 3 KiB (the answer ends ``- ... validation stopped after 10000
errors``), and a failing ``anyOf``/``oneOf`` branch is described by its
first 100 errors; validation also stops at the endpoint's deadline (500
``context deadline exceeded``, what the backend call would get in KrakenD;
the library takes some 16 us per array item, 8 s for a 1 MiB array); error
order follows gojsonschema's keyword order (KrakenD's order of sibling
properties is random); the texts of rarely used
keywords are the ``jsonschema`` library's.  No state.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any, Iterator, Optional
from urllib.parse import urljoin

import referencing
import referencing.exceptions
import referencing.jsonschema
import re2
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from jsonschema_specifications import REGISTRY as META_SCHEMAS

from app.config.model import EndpointConfig
from app.deps import GatewayDeps
from app.errors import ConfigError, InvalidRequestError
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse
from app.validation import schema_keywords, schema_messages

NAMESPACE = "validation/json-schema"
EMPTY_BODY = "could not validate an empty body"
MALFORMED_BODY = "could not validate a malformed body"
DEADLINE_EXCEEDED = "context deadline exceeded"
MAX_LINES = 100
#: Errors kept in memory at most (about 3 KiB each in the library): validation stops there.
MAX_ERRORS = 10_000
#: Keywords whose values are data, not schemas: a ``$ref`` or ``$id`` in there is not one.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
log = logging.getLogger("propylon.jsonschema")


@dataclass(frozen=True)
class JSONSchemaSettings:
    schema: Any
    validator_class: type[Validator]
    #: True when ``$schema`` names a draft the library does not know (draft-07 is used).
    unknown_draft: bool = False


class RemoteReferenceRefused(Exception):
    """A ``$ref`` needed a document from outside the schema; those are never fetched."""


def _refuse(uri: str) -> referencing.Resource[Any]:
    raise RemoteReferenceRefused(f"remote reference {uri!r} is not fetched")


def _registry() -> referencing.Registry[Any]:
    """The meta-schemas, and nothing that would go to the network."""
    refusing: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse)  # type: ignore[call-arg]
    combined: referencing.Registry[Any] = META_SCHEMAS.combine(refusing)
    return combined


def _pointer(parts: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


Spec = referencing.Specification[Any]


def _refs(node: Any, base: str, where: tuple[Any, ...], spec: Spec) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """Every ``$ref`` of the schema with the base URI it resolves against and its JSON path."""
    if isinstance(node, dict):
        # The draft decides what an id is (``id`` in draft-04; ignored next to ``$ref`` up to draft-07).
        own_id = spec.id_of(node)
        if isinstance(own_id, str):
            base = urljoin(base, own_id)
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref, base, where + ("$ref",)
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _refs(value, base, where + (key,), spec)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, base, where + (index,), spec)


def _check_refs(schema: Any, cls: type[Validator], path: str) -> None:
    """Every ``$ref`` must resolve inside the schema (or to a bundled meta-schema)."""
    if not isinstance(schema, dict):
        return
    spec = referencing.jsonschema.specification_with(cls.META_SCHEMA.get("$schema", ""),
                                                     default=referencing.jsonschema.DRAFT7)
    resource = referencing.Resource.from_contents(schema, default_specification=spec)
    root = resource.id() or ""
    registry = _registry().with_resource(root, resource).crawl()
    for ref, base, where in _refs(schema, "", (), spec):
        try:
            registry.resolver(base_uri=base).lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            raise ConfigError(path + _pointer(where), f"$ref {ref!r} does not resolve inside the schema "
                              f"(remote references are never fetched): {type(exc).__name__}") from exc


def _patterns(node: Any, where: tuple[Any, ...]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every regular expression of the schema (``pattern`` values, ``patternProperties`` keys)."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"], where + ("pattern",)
        if isinstance(node.get("patternProperties"), dict):
            yield from ((p, where + ("patternProperties", p)) for p in node["patternProperties"])
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _patterns(value, where + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, where + (index,))


def _check_patterns(schema: Any, path: str) -> None:
    """Patterns are RE2 (Go's regexp, as gojsonschema): linear time, no backreferences or lookarounds."""
    for pattern, where in _patterns(schema, ()):
        try:
            schema_messages.regex(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ConfigError(path + _pointer(where), f"invalid regular expression {pattern!r} (RE2 syntax): "
                                                      f"{reason}") from exc


def parse(raw: Any, path: str) -> JSONSchemaSettings:
    """The schema, checked against its meta-schema; ``ConfigError`` with the JSON path of the bad part."""
    if not isinstance(raw, (dict, bool)):
        raise ConfigError(path, f"expected a JSON schema (an object or a boolean), got {raw!r}")
    declared = raw.get("$schema") if isinstance(raw, dict) else None
    if declared is not None and not isinstance(declared, str):
        raise ConfigError(f"{path}.$schema", f"expected a string, got {declared!r}")
    cls = validator_for(raw, default=Draft7Validator)
    unknown = declared is not None and validator_for(raw, default=None) is None
    if unknown:
        cls = Draft7Validator
    _check_patterns(raw, path)  # first: its message says why RE2 refuses a pattern
    try:
        cls.check_schema(raw, format_checker=schema_keywords.format_checker(cls.FORMAT_CHECKER))
    except SchemaError as exc:
        raise ConfigError(path + exc.json_path[1:], f"invalid JSON schema: {exc.message}") from exc
    _check_refs(raw, cls, path)
    return JSONSchemaSettings(schema=raw, validator_class=cls, unknown_draft=unknown)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> Any:
    """The body as JSON; ``InvalidRequestError`` with KrakenD's texts when empty or not JSON (``1e400`` included)."""
    if not body:
        raise InvalidRequestError(EMPTY_BODY)
    try:
        # Invalid UTF-8 is replaced, as Go's decoder does; NaN/Infinity are not JSON.
        return json.loads(body.decode("utf-8", "replace"), parse_constant=_constant,
                          parse_float=schema_keywords.finite)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequestError(MALFORMED_BODY) from exc


def check(validator: Validator, body: bytes, deadline: float = math.inf) -> None:
    """Nothing when the body fits the schema, else ``InvalidRequestError`` with KrakenD's text.

    At most ``MAX_ERRORS`` errors are kept (400 with the lines found so far), and validation stops
    at ``deadline`` (monotonic; 500 ``context deadline exceeded``, as the backend call gets in KrakenD).
    """
    document = decode(body)
    errors: list[ValidationError] = []
    kept = 0
    try:
        with schema_keywords.deadline(deadline):
            for error in validator.iter_errors(document):
                errors.append(error)
                kept += schema_keywords.weight(error)
                if kept >= MAX_ERRORS:
                    break
    except RecursionError as exc:
        raise InvalidRequestError(MALFORMED_BODY) from exc
    except schema_keywords.DeadlineExceeded as exc:
        raise InvalidRequestError(DEADLINE_EXCEEDED, status=500) from exc
    if errors:
        raise InvalidRequestError(_message(errors, stopped=kept >= MAX_ERRORS))


def _message(errors: list[ValidationError], stopped: bool) -> str:
    found = list(schema_messages.lines(errors))
    shown = [f"- {line}" for line in found[:MAX_LINES]]
    if stopped:
        shown.append(f"- ... validation stopped after {MAX_ERRORS} errors")
    elif len(found) > MAX_LINES:
        shown.append(f"- ... {len(found) - MAX_LINES} more")
    return "\n".join(shown)


def build_validator(settings: JSONSchemaSettings) -> Validator:
    """The draft's validator with gojsonschema's keywords, each bounded per request (``schema_keywords``)."""
    base = settings.validator_class
    cls = extend(base, schema_keywords.keywords(dict(base.VALIDATORS)))
    checker = schema_keywords.format_checker(base.FORMAT_CHECKER)
    return cls(settings.schema, registry=_registry(), format_checker=checker)


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Middleware]:
    """The validating middleware (innermost endpoint feature), or None without the namespace."""
    if NAMESPACE not in endpoint.extra_config:
        return None
    path = f"{endpoint.path}.extra_config.{NAMESPACE}"
    settings = parse(endpoint.extra_config[NAMESPACE], path)
    if settings.unknown_draft:
        deps.warnings.append(f"{path}.$schema: unknown draft {settings.schema['$schema']!r}; validating as draft-07")
    validator = build_validator(settings)
    prefix = f"[ENDPOINT: {endpoint.method} {endpoint.endpoint}][JSONSchema]"
    return lambda proxy: _validating(proxy, validator, prefix)


def _validating(proxy: Proxy, validator: Validator, prefix: str) -> Proxy:
    def with_json_schema(request: ProxyRequest) -> ProxyResponse:
        try:
            check(validator, request.body, request.deadline)
        except referencing.exceptions.Unresolvable as exc:
            # parse() resolved every $ref already; fail closed if one still needs the network.
            log.error("%s %s", prefix, exc)
            raise InvalidRequestError(MALFORMED_BODY) from exc
        return proxy(request)
    return with_json_schema
