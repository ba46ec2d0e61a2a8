"""The whole exception tree of Propylon.

::

    GatewayError
    ├── ConfigError            bad configuration; carries the JSON path
    │   └── ConfigErrors       several ConfigErrors found in one pass
    ├── BackendError           one backend call failed; carries the backend label
    │   ├── BackendStatusError     status not accepted (default: not 200/201)
    │   │   └── ScriptError        a ``modifier/lua-*`` script failed or called ``custom_error``
    │   ├── BackendTimeout         the endpoint deadline passed
    │   ├── BackendUnavailable     connection refused, reset, DNS, TLS ...
    │   ├── BackendRedirectError   redirect to another origin, or too many
    │   ├── ResponseTooLarge       decoded body over the response limit
    │   ├── DecodeError            body does not fit the backend ``encoding``
    │   ├── CircuitOpen            the backend's circuit breaker refused the call
    │   └── BackendRateLimited     ``qos/ratelimit/proxy`` refused the call
    ├── MergeError             every branch of a multi-backend endpoint failed
    ├── EvaluatorRejected      a ``validation/cel`` check was false or could not be evaluated
    └── InvalidRequestError    the client's request failed a check before any backend call (400)

Client-facing errors (401, 403, 413, 429, 503) are werkzeug ``HTTPException``
subclasses defined next to the feature that raises them, so Flask renders them.

Foreign exceptions (``requests``, ``urllib3``, python-jose) are translated
where they enter, chaining the original; ``router.render.error_response`` is
the single place that turns a ``GatewayError`` into an HTTP status.  The
``str()`` of every BackendError is a short, fixed text safe to show a client
(KrakenD's ``return_error_msg`` shows it); details go to the log only.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, TypeVar

T = TypeVar("T")


class GatewayError(Exception):
    """Base of every error Propylon raises on purpose."""


class ConfigError(GatewayError):
    """A configuration problem at ``path`` (a JSON path such as ``endpoints[3].backend[0].url_pattern``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class ConfigErrors(ConfigError):
    """Every problem found while loading one configuration."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = tuple(errors)
        super().__init__("", "\n".join(str(e) for e in self.errors))


def collect(errors: list[ConfigError], build: Callable[[], T]) -> Optional[T]:
    """Run one build step, adding its ConfigError(s) to ``errors`` instead of stopping (None then)."""
    try:
        return build()
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)
    return None


class BackendError(GatewayError):
    """A backend call failed; ``str()`` is the client-safe KrakenD-style text."""

    text = "backend error"

    def __init__(self, backend: str = "", detail: str = "") -> None:
        super().__init__(self.text)
        self.backend = backend
        self.detail = detail

    def log_text(self) -> str:
        """The message for logs: the safe text plus backend and detail."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"[BACKEND: {self.backend}] {self.text}{extra}"


class BackendStatusError(BackendError):
    """The backend answered with a status the status policy rejects."""

    text = "invalid status code"

    def __init__(self, backend: str, status: int, body: bytes = b"",
                 content_type: str = "", return_code: bool = False) -> None:
        super().__init__(backend, f"status {status}")
        self.status = status
        self.body = body
        self.content_type = content_type
        #: ``backend/http.return_error_code``: the client gets this status.
        self.return_code = return_code


class ScriptError(BackendStatusError):
    """A ``modifier/lua-*`` script stopped the call (KrakenD's Lua ``ErrInternalHTTP``).

    ``custom_error(msg, status, content_type)``: the client gets ``status``
    and, with ``router.return_error_msg``, ``msg`` as the body in
    ``content_type``.  Any other script failure is a 500 with a fixed text;
    the Lua message is ``detail``, for the log only.
    """

    def __init__(self, label: str, message: str, status: int = 500, content_type: str = "",
                 detail: str = "") -> None:
        super().__init__(label, status, message.encode(), content_type, return_code=True)
        self.args = (message,)
        self.text = message
        self.detail = detail or f"status {status}"


class BackendTimeout(BackendError):
    text = "context deadline exceeded"


class BackendUnavailable(BackendError):
    text = "backend unavailable"


class BackendRedirectError(BackendError):
    text = "redirect not followed"


class ResponseTooLarge(BackendError):
    text = "backend response too large"


class DecodeError(BackendError):
    text = "invalid backend response"


class CircuitOpen(BackendError):
    text = "circuit breaker is open"


class BackendRateLimited(BackendError):
    text = "rate limit exceded"  # sic: KrakenD's text, which users grep for


class MergeError(GatewayError):
    """Every branch failed; ``errors`` keeps each branch's error in call order."""

    def __init__(self, errors: Sequence[GatewayError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))

    def log_text(self) -> str:
        return "; ".join(e.log_text() if isinstance(e, BackendError) else str(e) for e in self.errors)


class EvaluatorRejected(GatewayError):
    """A ``validation/cel`` check did not hold; ``str()`` is KrakenD's client-visible text.

    ``index`` counts the checks of one stage (request or response) of one
    endpoint or backend, as KrakenD numbers them; ``detail`` is for the log only.
    """

    def __init__(self, index: int, detail: str = "") -> None:
        super().__init__(f"request aborted by evaluator #{index}")
        self.index = index
        self.detail = detail


class InvalidRequestError(GatewayError):
    """The client's request failed a check before any backend call (``validation/json-schema``).

    ``status`` is what the client gets (KrakenD's ``StatusCode()`` of the
    error, 400); ``str()`` is the client-safe text shown with
    ``router.return_error_msg``.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
