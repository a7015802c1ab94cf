"""The portal under hostile input: every GET route of the portal's URLconf with each query
parameter its view reads, and every form its pages show with each field, set in turn to
values that have broken web applications before (NUL, a lone surrogate, Unicode digits,
numbers no column or double holds, 100 KB of text, a forged cursor). Asked by a person who
holds every role, so every page and form is reachable.

No answer may be a server error, and a refused form appends nothing to the ledger (a refused
signature is recorded as `signature.failed`, by design: 21 CFR 11 wants failed attempts kept).
The values and routes are enumerated, not sampled, so every run sends the same requests."""

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, resolve, reverse
from django.urls.converters import PathConverter, StringConverter

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.accounts.models import ApiToken
from auditreg.ledger.models import Entry
from lineage import services as lineage
from portal.urls import urlpatterns
from reports import services as reports
from tests.factories import (
    People,
    approve,
    authorize,
    deploy,
    make_model,
    make_use_case,
    make_version,
    password,
    submit,
)

HOSTILE: dict[str, str] = {
    "nul": "\x00",
    "nul-inside": "credit\x00pd",
    "lone-surrogate": "\udc00",
    "unicode-digit": "²",
    "arabic-indic-digit": "٣",
    "infinite-float": "1e400",
    "2^53+1": str(2**53 + 1),
    "negative": "-1",
    "20-digits": "99999999999999999999",
    "5000-digits": "9" * 5000,
    "100-kb": "x" * 100_000,
    "forged-cursor": "cD1hYmM=",
}

# The query parameters each page's view reads (from reading the views), beyond the fields of
# the GET forms the page itself shows, which are found on the page.
READS: dict[str, list[str]] = {
    "models": ["q", "domain", "risk_tier", "stage", "owner", "use_case", "sort", "page"],
    "model": ["page", "uses"],
    "version": ["diff"],
    "sign": ["meaning", "role", "expired"],
    "authorization-sign": ["meaning", "role", "expired"],
    "ledger": ["subject", "kind", "actor", "from", "to", "before"],
    "signoffs": ["page", "proposals"],
    "usecases": ["page"],
    "usecase-new": ["model"],
    "asof": ["date"],
    "reports": ["status", "kind", "page"],
    "report-new": ["kind", "subject", "use_case"],
    "admin-users": ["page"],
    "admin-tokens": ["service", "page"],
}
# Every name any view reads: sent all at once to every page, so a page that starts reading
# one of them is tried too.
EVERY_NAME = sorted({name for names in READS.values() for name in names} | {"cursor", "limit"})
# Path parameters, filled from what `seeded` records (with the report's id and the token's
# prefix); a route named here gets its own.
PATH = {
    "slug": "credit-pd",
    "number": "1",
    "seq": "1",
    "subject": "dataset:applications",
    "actor_id": "user:mallory",
    "tier": "high",
}
PATH_BY_ROUTE: dict[str, dict[str, str]] = {
    "usecase": {"slug": "us-retail-pd"},
    "usecase-authorize": {"slug": "us-retail-pd"},
    "usecase-rollback": {"slug": "us-retail-pd"},
    "authorization-sign": {"slug": "us-retail-pd"},
}
# Path parameters that take any text: each is tried with every hostile value.
TEXT_CONVERTERS = {StringConverter: "str", PathConverter: "path"}
# Forms never posted: signing out would end the session the walk runs in.
NOT_POSTED = ("/logout",)
SERVER_ERROR = 500


# --- The pages' forms ----------------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class Forms(HTMLParser):
    """The forms of a page, with each field's value as the page fills it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.current: Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            self.links.append(urljoin(self.url, a["href"]))
        if tag == "form":
            action = urljoin(self.url, a.get("action") or self.url)
            self.current = Form((a.get("method") or "get").lower(), action)
            self.forms.append(self.current)
        elif self.current is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "file", "image"):
            checkable = a.get("type") in ("checkbox", "radio")
            if not checkable or "checked" in a or a["name"] not in self.current.fields:
                self.current.fields[a["name"]] = a.get("value", "on" if checkable else "")
        elif tag == "select":
            self.select = a["name"]
            self.current.fields.setdefault(a["name"], "")
        elif tag == "option" and self.select:
            if "selected" in a or not self.current.fields[self.select]:
                self.current.fields[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.current.fields[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current.fields[self.textarea] += data


def forms_of(url: str, html: str) -> list[Form]:
    parser = Forms(url)
    parser.feed(html)
    return parser.forms


def html_of(answer: Any) -> str | None:
    if answer.status_code != 200 or answer.streaming or "html" not in answer["Content-Type"]:
        return None
    return str(answer.content.decode())


# --- Requests ------------------------------------------------------------------------------------


def encoded(pairs: dict[str, str]) -> str:
    """URL-encoded as a browser would, except that a lone surrogate is written as the three
    bytes a careless encoder makes of it (the server sees invalid UTF-8)."""
    return "&".join(
        f"{quote(name, errors='surrogatepass')}={quote(value, errors='surrogatepass')}"
        for name, value in pairs.items()
    )


@dataclass
class Walk:
    """The answers of one walk: server errors, ledger appends on refusals, the slowest."""

    client: Client
    paths: dict[str, str]
    failures: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    requests: int = 0

    def send(self, method: str, url: str, body: str | dict[str, str] | None, what: str) -> Any:
        """GET, or POST a URL-encoded body (a string) or a multipart one (a dict)."""
        started = time.perf_counter()
        if method == "get":
            answer = self.client.get(url)
        elif isinstance(body, dict):
            answer = self.client.post(url, body)
        else:
            answer = self.client.post(
                url, body or "", content_type="application/x-www-form-urlencoded"
            )
        elapsed = time.perf_counter() - started
        self.requests += 1
        self.slowest = max(self.slowest, (elapsed, what))
        if answer.status_code >= SERVER_ERROR:
            self.failures.append(f"{answer.status_code} from {what}")
        return answer

    def report(self) -> str:
        shown = "\n".join(self.failures[:40])
        return (
            f"{len(self.failures)} of {self.requests} requests failed (the slowest answer took "
            f"{self.slowest[0]:.2f} s: {self.slowest[1][:200]}):\n{shown}"
        )

    def path_values(self, pattern: URLPattern) -> dict[str, str]:
        values = {**self.paths, **PATH_BY_ROUTE.get(pattern.name or "", {})}
        return {name: values[name] for name in pattern.pattern.regex.groupindex}

    def routes(self) -> Iterator[tuple[URLPattern, str]]:
        """Every route of the portal but signing in and out, with its path filled."""
        for pattern in urlpatterns:
            if pattern.name not in ("login", "logout"):
                kwargs = self.path_values(pattern)
                yield pattern, reverse(f"portal:{pattern.name}", kwargs=kwargs)


def pages(walk: Walk) -> Iterator[tuple[str, str]]:
    """Every GET route's page, then the pages its links open with a query string (a sign
    page for a meaning and role, a report request for a subject), once per set of names."""
    links: dict[tuple[str, tuple[str, ...]], str] = {}
    for _, url in walk.routes():
        html = html_of(walk.send("get", url, None, f"GET {url}"))
        if html is None:
            continue
        yield url, html
        parser = Forms(url)
        parser.feed(html)
        for link in parser.links:
            parts = urlsplit(link)
            names = tuple(sorted(name for name, _ in parse_qsl(parts.query)))
            if parts.netloc in ("", "testserver"):
                links.setdefault((parts.path, names), f"{parts.path}?{parts.query}")
    for link in links.values():
        html = html_of(walk.send("get", link, None, f"GET {link}"))
        if html is not None:
            yield link, html


def shape(name: str) -> str:
    """A field's name with its row number and risk tier taken out: one policy row of each
    kind is enough."""
    name = re.sub(r"[0-9]+", "#", name)
    return re.sub(r"^(high|medium|low)-", "", name)


# --- Data and the person walking ----------------------------------------------------------------


@pytest.fixture
def seeded(clock: Any, people: People, signing_dir: Any) -> dict[str, str]:
    """A model in production for a use case, a second version in validation, a dataset, a
    signed checkpoint, a report request and a token; returns what the path parameters need."""
    model = make_model(people)
    v1 = approve(people, make_version(people, model, 1))
    use_case = make_use_case(people, model)
    authorize(people, v1, use_case)
    deploy(people, v1)
    submit(people, make_version(people, model, 2))
    lineage.record_dataset(name="applications", by=people.trainer)
    call_command("checkpoint", stdout=io.StringIO())
    report = reports.request_report(
        kind="model-risk", subject=v1.subject, by=people.olga, queue=False
    )
    reports.produce(str(report.id))
    accounts.issue_token(
        principal=people.trainer, name="nightly", scopes=[Scope.READ], by=people.ada
    )
    return {"report_id": str(report.id), "prefix": ApiToken.objects.get().prefix}


@pytest.fixture
def walk(seeded: dict[str, str], people: People) -> Walk:
    accounts.enroll_person(
        username="frieda",
        printed_name="Frieda Fuzz",
        roles=list(Role),
        password=password("frieda"),
        by=people.ada,
    )
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username="frieda"))
    return Walk(client, {**PATH, **seeded})


# --- The walks ----------------------------------------------------------------------------------


def test_the_walk_reaches_every_get_route_of_the_portal(walk):
    reached = {}
    for pattern, url in walk.routes():
        answer = walk.send("get", url, None, f"GET {url}")
        reached[pattern.name] = answer.status_code
        if answer.status_code == 302:  # the administration's index opens its first page
            assert not answer["Location"].startswith("/login"), url
    assert set(reached) == {p.name for p in urlpatterns} - {"login", "logout"}
    # The person holding every role reaches every page: nothing refused or missing.
    unreached = {name: code for name, code in reached.items() if code not in (200, 302, 405)}
    assert not unreached, unreached
    assert not walk.failures, walk.report()


def test_every_query_parameter_of_every_page_refuses_hostile_values_without_a_server_error(walk):
    for pattern, url in walk.routes():
        page = walk.send("get", url, None, f"GET {url}")
        if page.status_code != 200 or page.streaming or "html" not in page["Content-Type"]:
            continue  # a POST-only route (its forms are walked below), a download, a redirect
        names = set(READS.get(pattern.name or "", []))
        for form in forms_of(url, page.content.decode()):
            if form.method == "get" and urlsplit(form.action).path == url:
                names |= set(form.fields)
        for name in sorted(names):
            for label, value in HOSTILE.items():
                walk.send(
                    "get", f"{url}?{encoded({name: value})}", None, f"GET {url} {name}={label}"
                )
        for label, value in HOSTILE.items():
            every = encoded(dict.fromkeys(EVERY_NAME, value))
            walk.send("get", f"{url}?{every}", None, f"GET {url} every parameter={label}")
    assert walk.requests > 400
    assert not walk.failures, walk.report()


def test_every_text_path_parameter_refuses_hostile_values_without_a_server_error(walk):
    tried = 0
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        for name, converter in pattern.pattern.converters.items():
            kind = TEXT_CONVERTERS.get(type(converter))
            if kind is None:
                continue
            for label, value in HOSTILE.items():
                filled = route
                for other, known in walk.path_values(pattern).items():
                    if other != name:
                        filled = filled.replace(f"<{_converter_name(route, other)}:{other}>", known)
                safe = "/" if kind == "path" else ""
                filled = filled.replace(
                    f"<{kind}:{name}>", quote(value, safe=safe, errors="surrogatepass")
                )
                url = "/" + filled
                walk.send("get", url, None, f"GET {route} {name}={label}")
                walk.send("post", url, "", f"POST {route} {name}={label}")
                tried += 1
    assert tried >= 5 * len(HOSTILE)
    assert not walk.failures, walk.report()


def _converter_name(route: str, name: str) -> str:
    start = route.index(f":{name}>")
    return route[route.rindex("<", 0, start) + 1 : start]


def test_every_form_refuses_hostile_fields_without_a_server_error_or_a_ledger_entry(walk):
    forms: dict[tuple[str, str | None, tuple[str, ...]], Form] = {}
    for url, html in pages(walk):
        for form in forms_of(url, html):
            path = urlsplit(form.action).path
            if path in NOT_POSTED:
                continue
            shapes = tuple(sorted({shape(name) for name in form.fields}))
            forms.setdefault((form.method, resolve(path).url_name, shapes), form)
    posted = {route for method, route, _ in forms if method == "post"}
    assert {"sign", "authorization-sign", "usecase-new", "admin-policy-set"} <= posted, posted
    for form in forms.values():
        # With the right password, a signature goes through when the rest of it is valid.
        typed = {name: password("frieda") for name in form.fields if "password" in name}
        filled = {**form.fields, **typed}
        fields = {shape(name): name for name in form.fields if name != "csrfmiddlewaretoken"}
        for name in fields.values():
            for label, value in HOSTILE.items():
                _send_form(walk, form, {**filled, name: value}, f"{name}={label}")
    assert not walk.failures, walk.report()


def _send_form(walk: Walk, form: Form, fields: dict[str, str], what: str) -> None:
    action = urlsplit(form.action)
    path = action.path
    if form.method == "get":
        walk.send("get", f"{path}?{encoded(fields)}", None, f"GET form {path} {what}")
        return
    bodies: list[str | dict[str, str]] = [encoded(fields)]
    if any("\x00" in value for value in fields.values()):
        bodies.append(fields)  # multipart too, as a script would send it
    for body in bodies:
        before = _ledger_size()
        answer = walk.send("post", path, body, f"POST {path} {what}")
        shown_once = "portal/admin_token_created.html" in [t.name for t in answer.templates]
        refused = answer.status_code not in (302, 303) and not shown_once
        if refused and _ledger_size() != before:
            walk.failures.append(f"refused ({answer.status_code}) yet appended: POST {path} {what}")


def _ledger_size() -> int:
    """Entries other than refused signatures, which are recorded by design."""
    return Entry.objects.exclude(kind="signature.failed").count()
