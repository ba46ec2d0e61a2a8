"""The innermost Executor: one HTTP exchange over ``requests``.

The only module that imports ``requests``.  Per thread it keeps one
``Session`` (requests' own advice: sessions are not thread-safe) created on
first use, hence after gunicorn forks, with ``trust_env=False`` (no proxy
variables or .netrc; also the most expensive part of a request) and no cookie
jar in play: the prepared request goes straight to the session's
``HTTPAdapter``, skipping ``Session.request``'s environment merging, cookie
handling and redirect logic, which we do ourselves:

* redirects are followed only within the same origin (scheme, host, port),
  at most ``MAX_REDIRECTS`` hops, Go-style (301/302/303 turn a non-GET into a
  body-less GET, 307/308 keep method and body), re-sending the same headers
  plus ``Referer``; a redirect elsewhere fails the backend (deviation:
  KrakenD follows any redirect);
* the decoded body is read in bounded pieces: over ``max_response`` bytes it
  fails with ``ResponseTooLarge``; every socket wait is capped by what is
  left until the deadline, which is checked between pieces, so a dribbling
  backend cannot hold a thread past it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Optional
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3.exceptions
from urllib3.util import SKIP_HEADER
from requests.structures import CaseInsensitiveDict

from app.errors import BackendError, BackendRedirectError, BackendTimeout, BackendUnavailable, \
    DecodeError, ResponseTooLarge
from app.proxy.model import WireRequest, WireResponse

MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 1.0
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class RequestsTransport:
    """Executor over per-thread ``requests`` Sessions; see the module docstring."""

    def __init__(self, max_response: int, pool_maxsize: int = 32, verify: bool | str = True) -> None:
        self.max_response = max_response
        self.pool_maxsize = pool_maxsize
        #: TLS verification: True (system CAs via certifi) or the path of a CA bundle; never off.
        self.verify = verify
        self._local = threading.local()

    def _adapter(self, url: str) -> requests.adapters.BaseAdapter:
        session: Optional[requests.Session] = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=self.pool_maxsize,
                                                    max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session.get_adapter(url)

    def __call__(self, wire: WireRequest, deadline: float) -> WireResponse:
        method, url, headers, body = wire.method, wire.url, dict(wire.headers), wire.body
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, headers, body, deadline)
            status = response.status_code
            location = response.headers.get("Location") if status in _REDIRECTS else None
            if not location:
                return WireResponse(status, _header_lines(response), self._read(response, deadline, url), url)
            response.close()
            target = urljoin(url, location)
            if _origin(target) != _origin(wire.url):
                raise BackendRedirectError(_loggable(url), f"redirect {status} to another origin: {_loggable(target)}")
            if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
            headers["Referer"] = url
            url = target
        raise BackendRedirectError(_loggable(url), f"more than {MAX_REDIRECTS} redirects")

    def _send(self, method: str, url: str, headers: dict[str, str], body: Optional[bytes],
              deadline: float) -> requests.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendTimeout(_loggable(url), "deadline passed before the call")
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = url
        prepared.headers = CaseInsensitiveDict(headers)
        # Framing belongs to the transport: a Content-Length always matches the body, and
        # Transfer-Encoding is urllib3's to decide (no smuggling through a modifier).
        prepared.headers.pop("Transfer-Encoding", None)
        if "Content-Length" in prepared.headers:
            prepared.headers["Content-Length"] = str(len(body or b""))
        if "User-Agent" not in prepared.headers:
            # A modifier may remove it; never let urllib3 announce itself instead.
            prepared.headers["User-Agent"] = SKIP_HEADER
        prepared.body = body or None
        try:
            return self._adapter(url).send(prepared, stream=True, verify=self.verify,
                                           timeout=(min(CONNECT_TIMEOUT, remaining), remaining))
        except requests.Timeout as exc:
            raise BackendTimeout(_loggable(url), type(exc).__name__) from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise BackendUnavailable(_loggable(url), _reason(exc)) from exc

    def _read(self, response: requests.Response, deadline: float, url: str) -> bytes:
        raw: Any = response.raw
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                # The socket already waits at most what was left when the call
                # was sent; later reads get only what is left now.
                if chunks:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise BackendTimeout(_loggable(url), "deadline passed while reading the body")
                    _set_read_timeout(raw, remaining)
                chunk = raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_response:
                    raise ResponseTooLarge(_loggable(url), f"more than {self.max_response} bytes")
                chunks.append(chunk)
        except BackendError:
            response.close()
            raise
        except urllib3.exceptions.DecodeError as exc:
            response.close()
            raise DecodeError(_loggable(url), f"content decoding: {type(exc).__name__}") from exc
        except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
            response.close()
            raise BackendTimeout(_loggable(url), "read timed out") from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            response.close()
            raise BackendUnavailable(_loggable(url), _reason(exc)) from exc
        raw.release_conn()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _loggable(url: str) -> str:
    """The URL without its query: query values may hold keys (Martian ``${env:...}``, claims)."""
    return url.split("?", 1)[0]


def _reason(exc: BaseException) -> str:
    """A short cause for logs, without the URL (and its query) that library messages repeat."""
    names = [type(exc).__name__]
    cause = exc.__context__ or exc.__cause__
    while cause is not None and len(names) < 4:
        names.append(type(cause).__name__)
        cause = cause.__context__ or cause.__cause__
    return " <- ".join(names)


def _set_read_timeout(raw: Any, seconds: float) -> None:
    """Cap the next socket wait at ``seconds`` (urllib3 applies the read timeout per recv)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _header_lines(response: requests.Response) -> tuple[tuple[str, str], ...]:
    # urllib3's header dict keeps repeated headers (Set-Cookie) as separate items.
    return tuple(response.raw.headers.items())


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)
