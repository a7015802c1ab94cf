"""HTTP for the client: JSON over the standard library, with safe retries.

A POST carries an `Idempotency-Key`. Unless the caller gives one it is derived from the
method, the path and the canonical (RFC 8785) body, so a retried request, or a re-run of the
same job, sends the same key and the server records the fact once. Connection failures,
timeouts, 5xx and 429 are retried with exponential backoff and jitter (`Retry-After` is
honoured); any other 4xx is a mistake in the request and is raised at once.
"""

import gzip
import hashlib
import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

import rfc8785

USER_AGENT = "auditreg-client/0.1"
MAX_RETRY_AFTER = 60.0  # seconds; a longer Retry-After would stall a training job
# Stripe's header: a repeated key was answered from the first request's stored answer.
REPLAYED_HEADER = "Idempotent-Replayed"

Query = Mapping[str, str | int | None]


class ApiError(Exception):
    """The API refused a request or could not be reached.

    `status` is the HTTP status, or 0 when no answer came (after the retries); `detail` the
    problem's explanation in words; `problem` the whole RFC 9457 problem document.
    """

    def __init__(self, status: int, detail: str, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail
        self.problem = dict(problem or {})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False

    @property
    def created(self) -> bool:
        """Whether this request recorded something new (201 and not an idempotent replay)."""
        return self.status == 201 and not self.replayed


def idempotency_key(method: str, path: str, body: Any) -> str:
    """The key a request sends when the caller gives none: the same request, the same key."""
    request: dict[str, Any] = {"method": method.upper(), "path": path, "body": body}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(request)).hexdigest()


class Http:
    """Requests to one API root (`…/api/v1/`) with a Bearer token."""

    def __init__(
        self,
        root: str,
        token: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.root = root.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def get(self, path: str, query: Query | None = None) -> Any:
        return self.request("GET", path, query=query).body

    def post(
        self,
        path: str,
        body: Any,
        *,
        key: str | None = None,
        compress: bool = False,
    ) -> Answer:
        data = rfc8785.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key or idempotency_key("POST", path, body),
        }
        if compress:
            data = gzip.compress(data, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return self.request("POST", path, data=data, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        url = self.url(path, query)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                return self._send(method, url, data, headers or {})
            except urllib.error.HTTPError as error:
                if not _is_transient(error.code) or last:
                    raise _api_error(error) from None
                self.sleep(self._delay(attempt, error.headers))
            except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
                if last:
                    reason = getattr(error, "reason", error)
                    raise ApiError(0, f"no answer from {url}: {reason}") from None
                self.sleep(self._delay(attempt, None))
        raise AssertionError("unreachable")  # the loop returns or raises

    def url(self, path: str, query: Query | None = None) -> str:
        url = urllib.parse.urljoin(self.root, path.lstrip("/"))
        pairs = {name: str(value) for name, value in (query or {}).items() if value is not None}
        return f"{url}?{urllib.parse.urlencode(pairs)}" if pairs else url

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        # Client accepts only http(s) URLs, so no file: or custom scheme reaches urlopen.
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json, application/problem+json")
        request.add_header("Accept-Encoding", "gzip")
        request.add_header("User-Agent", USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            body = _decode(response.read(), response.headers)
            replayed = response.headers.get(REPLAYED_HEADER, "").lower() == "true"
            return Answer(response.status, body, replayed)

    def _delay(self, attempt: int, headers: Message | None) -> float:
        """Exponential backoff with full jitter, or what the server asked for if it asked."""
        asked = _retry_after(headers.get("Retry-After")) if headers is not None else None
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER)
        return random.uniform(0, self.backoff * 2**attempt)  # noqa: S311 (jitter, not secrets)


def _is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _decode(raw: bytes, headers: Message) -> Any:
    if headers.get("Content-Encoding", "").lower() == "gzip":
        raw = gzip.decompress(raw)
    if not raw:
        return None
    return json.loads(raw)


def _api_error(error: urllib.error.HTTPError) -> ApiError:
    """An ApiError from an error answer: problem+json if it is one, else the status text."""
    try:
        problem = _decode(error.read(), error.headers)
    except (OSError, ValueError):
        problem = None
    if isinstance(problem, dict):
        detail = problem.get("detail") or problem.get("title") or error.reason
        return ApiError(error.code, str(detail), problem)
    return ApiError(error.code, str(error.reason), {"status": error.code})
