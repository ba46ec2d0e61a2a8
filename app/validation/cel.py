"""``validation/cel``: Common Expression Language checks on endpoints and backends.

Namespace ``validation/cel`` (legacy ``github.com/devopsfaith/krakend-cel``)
on an endpoint or a backend, a list of checks::

    "validation/cel": [
        {"check_expr": "'something' in req_headers['X-Header']"},
        {"check_expr": "int(req_params.Id) % 2 == 0"},
        {"check_expr": "has(resp_data.id) && resp_metadata_status == 200"},
        {"check_expr": "'admin' in JWT.roles"}
    ]

Keys: ``check_expr`` (required, one boolean CEL expression per item).
Variables: ``req_method``, ``req_path``, ``req_params`` (names title-cased as
KrakenD: ``{id}`` is ``req_params.Id``), ``req_headers`` and
``req_querystring`` (maps of lists), ``now`` (RFC 3339 string, UTC: use
``timestamp(now)``), ``JWT`` (the validated claims), and on responses
``resp_completed``, ``resp_metadata_status``, ``resp_metadata_headers``,
``resp_data``.

Stages: a check naming a ``resp_*`` variable runs on the response, any other
on the request; at endpoint level a check naming ``JWT`` and no other
``req_*`` variable is KrakenD's JWT rejecter: it runs right after
``auth/validator`` and answers 401 with no body.  A false, non-boolean or
failing check (``int("x")``, a missing key) aborts closed: the endpoint
answers 500 ``request aborted by evaluator #N`` (N counts the checks of that
stage, as KrakenD); at backend level that backend is dropped from the merge.
So is data nested too deeply to hand to CEL (several hundred levels, see
``evaluate``).  The variables are built in ``app.validation.cel_variables``.

Deviations from KrakenD (krakend-cel decides the stage by searching the
text for ``req``/``resp``/``JWT``, drops checks that fail type checking and
serves without CEL when an expression does not parse):
* the stage comes from the variables an expression really names; one that
  names none (``true``, ``now < ...``) runs on the request instead of being
  ignored, and response checks may also use the ``req_*`` variables and JWT;
* an expression that does not parse, or names an unknown ``req_``/``resp_``
  variable, is an error with its JSON path: ``propylon check`` fails, the
  running gateway refuses every call of that endpoint or backend;
* a ``JWT`` check without ``auth/validator`` on the endpoint refuses every
  request (KrakenD ignores it);
* response checks also run on partial answers (``resp_completed`` false);
* ``resp_metadata_headers`` holds backend headers only with ``no-op``;
  numbers in ``resp_data`` are CEL ints and doubles (KrakenD: strings).

Library: ``common-expression-language`` 0.10 (bindings of the Rust ``cel``
crate) rather than ``cel-python`` 0.5 (celpy, pure Python).  Both evaluate
what KrakenD configs use (``int()``, ``size()``, ``in`` on lists and maps,
``has()``, all/exists/map/filter, startsWith/endsWith/contains/matches,
``timestamp``, ``duration``), compile once and share one program between
threads.  Measured per evaluation of ``int(req_params.Id) % 2 == 0``: about
11 us against about 900 us with celpy; converting the variables dominates
(about 6 us per string, so a response check over a 1,000-object
``resp_data`` costs some 30 ms, celpy about 65 ms).  Known gap: ``size()``
of a string counts bytes, not code points.

State: none; programs are compiled once per worker when the stacks are built.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import cel
from flask import request as flask_request
from werkzeug.wrappers import Response

from app.config.model import BackendConfig, EndpointConfig
from app.deps import GatewayDeps
from app.errors import ConfigError, EvaluatorRejected
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse
from app.router.handler import CLAIMS_KEY, View
from app.router.render import GatewayResponse
from app.validation.cel_variables import (JWT, NOW, REQUEST_VARIABLES, RESPONSE_VARIABLES, now_text, plain,
                                          request_activation, response_activation)

NAMESPACE = "validation/cel"
KEYS = frozenset({"check_expr"})
#: Read by name only: features never import each other.
VALIDATOR = "auth/validator"
REQUEST, RESPONSE, TOKEN = "request", "response", "token"
log = logging.getLogger("propylon.cel")


@dataclass(frozen=True)
class Check:
    """One compiled ``check_expr``."""

    index: int                   # position in the namespace list
    path: str                    # JSON path of its check_expr
    source: str
    variables: frozenset[str]    # identifiers it names (comprehension variables included)
    program: Any = field(compare=False, repr=False)

    @property
    def stage(self) -> str:
        if self.variables & RESPONSE_VARIABLES:
            return RESPONSE
        if JWT in self.variables and not self.variables & REQUEST_VARIABLES:
            return TOKEN
        return REQUEST


@dataclass(frozen=True)
class CelSettings:
    checks: tuple[Check, ...]

    def stage(self, *stages: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.stage in stages)


def compile_check(source: Any, index: int, path: str) -> Check:
    """Compile one expression; ``ConfigError`` at ``path`` when it cannot be used."""
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(path, f"expected a CEL expression, got {source!r}")
    try:
        program = cel.compile(source)
        variables = frozenset(program.variables())
    except (ValueError, RuntimeError) as exc:
        # The parser's text is several lines (position, caret); the first two say it all.
        raise ConfigError(path, " ".join(str(exc).splitlines()[:2])[:300]) from exc
    unknown = sorted(v for v in variables if v.startswith(("req_", "resp_"))
                     and v not in REQUEST_VARIABLES | RESPONSE_VARIABLES)
    if unknown:
        known = ", ".join(sorted(REQUEST_VARIABLES | RESPONSE_VARIABLES | {NOW, JWT}))
        raise ConfigError(path, f"unknown variable {', '.join(unknown)} (known: {known})")
    return Check(index, path, source, variables, program)


def parse(raw: Any, path: str) -> CelSettings:
    """Validate and compile the namespace; raises ``ConfigError`` naming the bad item."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, f"expected a non-empty list of {{\"check_expr\": ...}} objects, got {raw!r}")
    checks = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}[{index}]", f"expected an object, got {item!r}")
        checks.append(compile_check(item.get("check_expr"), index, f"{path}[{index}].check_expr"))
    return CelSettings(tuple(checks))


def first_failure(checks: Sequence[Check], activation: dict[str, Any], prefix: str) -> Optional[int]:
    """The position of the first check that is not ``true`` (errors included), or None."""
    for position, check in enumerate(checks):
        try:
            result = check.program.execute(activation)
        except Exception as exc:  # noqa: BLE001 - any evaluation error fails the check closed
            log.info("%s Evaluator #%d failed: %s: %s", prefix, position, type(exc).__name__, exc)
            return position
        except BaseException as exc:
            # PyO3 raises a Rust panic as a BaseException: closed as well, never up to the worker.
            if type(exc).__name__ != "PanicException":
                raise
            log.error("%s Evaluator #%d panicked: %s", prefix, position, exc)
            return position
        if result is not True:
            log.info("%s Evaluator #%d result: %r", prefix, position, result)
            return position
    return None


def _names(checks: Sequence[Check]) -> frozenset[str]:
    return frozenset().union(*(c.variables for c in checks)) if checks else frozenset()


def evaluate(checks: Sequence[Check], build: Callable[[], dict[str, Any]], prefix: str) -> Optional[int]:
    """``first_failure`` over the variables ``build`` makes; data too deeply nested to convert fails check 0.

    ``plain`` recurses, so Python's recursion limit stops such data (a backend's JSON, about 1,000
    levels) as a ``RecursionError``; that limit also spares the Rust converter, which has none of its
    own (10,000 levels overflow its stack and kill the worker).
    """
    try:
        activation = build()
    except RecursionError:
        log.info("%s Evaluator #0 failed: variables nested too deeply", prefix)
        return 0
    return first_failure(checks, activation, prefix)


def build_layer(pre: Sequence[Check], post: Sequence[Check], prefix: str) -> Middleware:
    """Request checks before ``inner``, response checks after it; a failure raises ``EvaluatorRejected``."""
    pre_names, post_names = _names(pre), _names(post)

    def middleware(inner: Proxy) -> Proxy:
        def with_cel_checks(request: ProxyRequest) -> ProxyResponse:
            now = now_text()
            if pre:
                failed = evaluate(pre, lambda: request_activation(request, pre_names, now), prefix + "[pre]")
                if failed is not None:
                    raise EvaluatorRejected(failed, pre[failed].path)
            response = inner(request)
            if post:
                failed = evaluate(post, lambda: {**request_activation(request, post_names, now),
                                                 **response_activation(response, post_names)}, prefix + "[post]")
                if failed is not None:
                    raise EvaluatorRejected(failed, post[failed].path)
            return response
        return with_cel_checks
    return middleware


def _refuse_all(error: ConfigError) -> Middleware:
    def middleware(inner: Proxy) -> Proxy:
        def with_broken_cel_checks(request: ProxyRequest) -> ProxyResponse:
            raise EvaluatorRejected(0, f"invalid configuration: {error}")
        return with_broken_cel_checks
    return middleware


def _settings(extra: Mapping[str, Any], owner_path: str, deps: GatewayDeps, prefix: str
              ) -> Union[CelSettings, ConfigError]:
    """The parsed namespace, or (not strict) the error after logging it: the caller then refuses all."""
    path = f"{owner_path}.extra_config.{NAMESPACE}"
    raw = extra[NAMESPACE]
    for index, item in enumerate(raw if isinstance(raw, list) else ()):
        if isinstance(item, dict):
            deps.warn_unknown_keys(item, KEYS, f"{path}[{index}]")
    try:
        return parse(raw, path)
    except ConfigError as exc:
        if deps.strict:
            raise
        log.error("%s %s; every call will be refused", prefix, exc)
        return exc


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Middleware]:
    """Endpoint request and response checks (JWT-only checks run in ``token_from_config``)."""
    if NAMESPACE not in endpoint.extra_config:
        return None
    prefix = f"[ENDPOINT: {endpoint.endpoint}][CEL]"
    settings = _settings(endpoint.extra_config, endpoint.path, deps, prefix)
    if isinstance(settings, ConfigError):
        return _refuse_all(settings)
    for check in settings.checks:
        if JWT in check.variables and VALIDATOR not in endpoint.extra_config:
            message = "uses JWT but the endpoint has no auth/validator: it can never pass"
            if deps.strict:
                raise ConfigError(check.path, message)
            deps.warnings.append(f"{check.path}: {message}")
    pre, post = settings.stage(REQUEST), settings.stage(RESPONSE)
    return build_layer(pre, post, prefix) if pre or post else None


def backend_from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Middleware]:
    """Backend checks: a failure drops this backend (JWT checks run with the request ones here)."""
    if NAMESPACE not in backend.extra_config:
        return None
    prefix = f"[BACKEND: {backend.label}][CEL]"
    settings = _settings(backend.extra_config, backend.path, deps, prefix)
    if isinstance(settings, ConfigError):
        return _refuse_all(settings)
    return build_layer(settings.stage(REQUEST, TOKEN), settings.stage(RESPONSE), prefix)


def token_from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    """KrakenD's CEL JWT rejecter: checks naming only ``JWT`` (and ``now``) answer 401 when they fail."""
    raw = endpoint.extra_config.get(NAMESPACE)
    if raw is None:
        return None
    try:
        checks = parse(raw, f"{endpoint.path}.extra_config.{NAMESPACE}").stage(TOKEN)
    except ConfigError:
        return None  # from_config reports it and refuses every call
    if not checks:
        return None
    prefix = f"[ENDPOINT: {endpoint.endpoint}][CEL][JWT]"
    names = _names(checks)
    return lambda view: _rejecting(view, checks, names, prefix)


def _rejecting(view: View, checks: tuple[Check, ...], names: frozenset[str], prefix: str) -> View:
    def with_cel_jwt_checks(**variables: str) -> Response:
        claims = flask_request.environ.get(CLAIMS_KEY)
        if claims is None:
            log.info("%s no validated token (auth/validator missing): rejected", prefix)
            return GatewayResponse(b"", 401)
        now = {NOW: now_text()} if NOW in names else {}
        if evaluate(checks, lambda: {JWT: plain(dict(claims)), **now}, prefix) is not None:
            return GatewayResponse(b"", 401)
        return view(**variables)
    return with_cel_jwt_checks
