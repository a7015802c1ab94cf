"""`Client`: the REST API (docs/api.md) as Python methods, for training jobs and audits.

    from auditreg.client import Client, file_digest

    api = Client()  # AUDITREG_URL and AUDITREG_TOKEN
    api.record_snapshot(dataset="loans", label="2026-03", digest=file_digest("loans.parquet"))
    api.record_run({"id": "nightly-2026-03-31", "status": "completed", "inputs": [...]})

Writes return an `Answer` (`created` is False when the fact was already recorded); reads
return the decoded JSON; listings are iterators that follow the cursor pages.
"""

import os
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from auditreg.client.http import Answer, ApiError, Http, Query

ENTRY_PAGE = 1000  # the largest page the entries endpoint serves


class Client:
    """The auditreg API at `url` (the site root, or its `/api/v1/`), as service `token`.

    POSTs are retried safely: each carries an idempotency key derived from its content
    unless `key=` is given (see `auditreg.client.http`).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        url = url or os.environ.get("AUDITREG_URL", "")
        token = token or os.environ.get("AUDITREG_TOKEN", "")
        if not url:
            raise ValueError("the auditreg URL is needed (pass url= or set AUDITREG_URL)")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"the auditreg URL must be http(s)://…, not {url!r}")
        if not token:
            raise ValueError("an API token is needed (pass token= or set AUDITREG_TOKEN)")
        self.http = Http(_api_root(url), token, timeout=timeout, retries=retries, backoff=backoff)

    # --- Writes (scope `ingest`) -------------------------------------------------------------

    def register_model(
        self,
        *,
        slug: str,
        name: str,
        owner: str,
        domain: str,
        risk_tier: str,
        intended_purpose: str,
        limitations: str,
        description: str | None = None,
        key: str | None = None,
    ) -> Answer:
        body = _present(
            slug=slug,
            name=name,
            owner=owner,
            domain=domain,
            risk_tier=risk_tier,
            intended_purpose=intended_purpose,
            limitations=limitations,
            description=description,
        )
        return self.http.post("models", body, key=key)

    def register_version(
        self, slug: str, package: Mapping[str, Any], *, key: str | None = None
    ) -> Answer:
        """Register a model package as a new version (200 if it is already registered)."""
        return self.http.post(f"models/{_segment(slug)}/versions", {"package": package}, key=key)

    def record_dataset(
        self,
        *,
        name: str,
        uri: str | None = None,
        description: str | None = None,
        key: str | None = None,
    ) -> Answer:
        return self.http.post(
            "datasets", _present(name=name, uri=uri, description=description), key=key
        )

    def record_snapshot(
        self,
        *,
        dataset: str,
        label: str,
        digest: str,
        uri: str | None = None,
        rows: int | None = None,
        schema: Mapping[str, Any] | None = None,
        time_range: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Answer:
        body = _present(
            dataset=dataset,
            label=label,
            digest=digest,
            uri=uri,
            rows=rows,
            schema=schema,
            time_range=time_range,
        )
        return self.http.post("snapshots", body, key=key)

    def record_run(self, facts: Mapping[str, Any], *, key: str | None = None) -> Answer:
        """Report a training run (`id`, `status`, inputs, outputs, …); report it again as it
        progresses. 200 when the report adds nothing new."""
        return self.http.post("runs", dict(facts), key=key)

    def record_monitoring(
        self,
        slug: str,
        number: int,
        *,
        metric: str,
        value: str | Decimal,
        window_start: str | date,
        window_end: str | date,
        segment: str | None = None,
        key: str | None = None,
    ) -> Answer:
        """A monitoring figure of version `number`. The value is a decimal string ("0.84"):
        floats are refused because what is hashed must read the same everywhere."""
        if isinstance(value, float):
            raise TypeError("give the value as a decimal string such as '0.84', not a float")
        body = _present(
            metric=metric,
            value=str(value),
            window_start=_iso(window_start),
            window_end=_iso(window_end),
            segment=segment,
        )
        path = f"models/{_segment(slug)}/versions/{int(number)}/monitoring"
        return self.http.post(path, body, key=key)

    def send_openlineage(
        self, event: Mapping[str, Any], *, compress: bool = False, key: str | None = None
    ) -> Answer:
        """Send an OpenLineage RunEvent, JobEvent or DatasetEvent (gzip it with `compress`)."""
        return self.http.post("lineage", dict(event), key=key, compress=compress)

    # --- Reads (scope `read`) ----------------------------------------------------------------

    def model(self, slug: str) -> dict[str, Any]:
        return dict(self.http.get(f"models/{_segment(slug)}"))

    def models(
        self, *, risk_tier: str | None = None, domain: str | None = None, q: str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.pages("models", {"risk_tier": risk_tier, "domain": domain, "q": q})

    def versions(self, slug: str, *, stage: str | None = None) -> Iterator[dict[str, Any]]:
        return self.pages(f"models/{_segment(slug)}/versions", {"stage": stage})

    def version(self, slug: str, number: int) -> dict[str, Any]:
        return dict(self.http.get(f"models/{_segment(slug)}/versions/{int(number)}"))

    def node(self, subject: str) -> dict[str, Any]:
        return dict(self.http.get(f"lineage/nodes/{_segment(subject)}"))

    def upstream(self, subject: str) -> dict[str, Any]:
        return dict(self.http.get("lineage/upstream", {"subject": subject}))

    def downstream(self, subject: str) -> dict[str, Any]:
        return dict(self.http.get("lineage/downstream", {"subject": subject}))

    def diff(self, a: str, b: str) -> dict[str, Any]:
        """What changed from version subject `a` to `b` (`model:{slug}/{n}`)."""
        return dict(self.http.get("lineage/diff", {"from": a, "to": b}))

    def as_of(
        self,
        at: str | datetime | None = None,
        *,
        model: str | None = None,
        use_case: str | None = None,
    ) -> dict[str, Any]:
        """The registry as it stood at `at` (default: now)."""
        moment = at.isoformat() if isinstance(at, datetime) else at
        return dict(self.http.get("as-of", {"at": moment, "model": model, "use_case": use_case}))

    def entries(
        self, *, subject: str | None = None, kind: str | None = None, actor: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Ledger entries in seq order, each with its canonical JSON (`entry`) and `hash`."""
        query = {"subject": subject, "kind": kind, "actor": actor, "limit": ENTRY_PAGE}
        return self.pages("ledger/entries", query)

    def entry(self, seq: int) -> dict[str, Any]:
        return dict(self.http.get(f"ledger/entries/{int(seq)}"))

    def latest_checkpoint(self) -> dict[str, Any]:
        """The latest signed checkpoint: `tree_size`, `root_hash`, `key_name` and `note`."""
        return dict(self.http.get("checkpoints/latest"))

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> dict[str, Any]:
        """RFC 9162 proof that entry `seq` is in the tree of `tree_size` entries (default:
        the latest checkpoint's)."""
        return dict(self.http.get("ledger/proofs/inclusion", {"seq": seq, "tree_size": tree_size}))

    def consistency_proof(self, first: int, second: int | None = None) -> dict[str, Any]:
        return dict(self.http.get("ledger/proofs/consistency", {"first": first, "second": second}))

    def pages(self, path: str, query: Query | None = None) -> Iterator[dict[str, Any]]:
        """Every result of a cursor-paged listing, page after page.

        The `next` link's query (its cursor) is applied to our own URL: behind a proxy the
        server may not know the address we reach it by.
        """
        page = self.http.get(path, query)
        while True:
            yield from page["results"]
            if not page.get("next"):
                return
            cursor = urllib.parse.parse_qsl(urllib.parse.urlsplit(page["next"]).query)
            page = self.http.get(path, dict(cursor))


def _api_root(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else f"{url}/api/v1"


def _segment(value: str) -> str:
    """One path segment: slugs are plain, but subjects hold ':' '/' and '@'."""
    return urllib.parse.quote(value, safe="")


def _present(**fields: object) -> dict[str, object]:
    """The fields that were given: the server fills in the defaults of the others."""
    return {name: value for name, value in fields.items() if value is not None}


def _iso(day: str | date) -> str:
    return day.isoformat() if isinstance(day, date) else day


__all__ = ["Answer", "ApiError", "Client"]
