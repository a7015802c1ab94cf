"""Model and version pages. A version page shows what the model risk report states, gathered
by `reports.content` in a fixed number of queries, plus the ledger entries it rests on."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, QueryDict
from django.urls import NoReverseMatch, reverse

from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import whole_number
from auditreg.registry import impact, selectors
from auditreg.registry.models import ModelVersion, RegisteredModel, UseCase
from lineage import queries as lineage
from lineage.models import Edge, Node
from portal.templatetags.portal_links import version_url
from reports import content, figures

# The first hex digits of an entry hash shown in lists; the entry page shows all of it.
SHORT_HASH = 12
# A model's versions and use cases are listed a page at a time.
PAGE_SIZE = 50


def model_page(slug: str, params: QueryDict) -> dict[str, Any]:
    """The model's inventory facts, its versions (newest first) and its use cases, each list
    a page at a time (`page`, `uses`). Unknown slug → 404."""
    model = RegisteredModel.objects.filter(slug=slug).first()
    if model is None:
        raise Http404(f"there is no model {slug}")
    versions = ModelVersion.objects.filter(model=model).order_by("-number")
    use_cases = UseCase.objects.filter(model=model).order_by("slug")
    return {
        "model": model,
        "versions": Paginator(versions, PAGE_SIZE).get_page(params.get("page")),
        "versions_params": _without(params, "page"),
        "use_cases": Paginator(use_cases, PAGE_SIZE).get_page(params.get("uses")),
        "use_cases_params": _without(params, "uses"),
    }


def _without(params: QueryDict, name: str) -> str:
    """The query string without parameter `name`: the other list keeps its page."""
    kept = params.copy()
    kept.pop(name, None)
    return kept.urlencode()


def version_page(slug: str, number: int, diff: str) -> dict[str, Any]:
    """Everything a reviewer reads about one version; `diff` is the number of another
    version of the model to compare with ("" for none). Unknown version → 404."""
    version = (
        ModelVersion.objects.select_related("model").filter(model__slug=slug, number=number).first()
    )
    if version is None:
        raise Http404(f"model {slug} has no version {number}")
    report = content.gather("model-risk", subject=version.subject)
    numbers = list(
        ModelVersion.objects.filter(model__slug=slug)
        .order_by("number")
        .values_list("number", flat=True)
    )
    changes, refusal = _diff(version, diff, numbers)
    seqs = sorted({seq for section in report.sections.values() for seq in section})
    return {
        **report.context,
        "record": version,
        "graph": _graph(version.subject, report.context["lineage"]),
        "entries": _entries(seqs),
        "change_requests": selectors.change_requests([version]).get(version.subject, []),
        "others": [n for n in numbers if n != number],
        "diff_number": diff,
        "diff": changes,
        "diff_refusal": refusal,
    }


def _diff(
    version: ModelVersion, wanted: str, numbers: list[int]
) -> tuple[dict[str, Any] | None, str]:
    """The lineage diff from version `wanted` to this one, or why there is none."""
    if not wanted:
        return None, ""
    number = whole_number(wanted)
    if number is None or number not in numbers:
        return None, f"{version.model.name} has no version {wanted[:20]}."
    if number == version.number:
        return None, "Choose another version than this one."
    other = f"{version.model.subject}/{number}"
    return content._diff_rows(impact.diff(other, version.subject)), ""


def _entries(seqs: list[int]) -> list[dict[str, Any]]:
    rows = Entry.objects.filter(seq__in=seqs).order_by("seq")
    return [
        {"seq": seq, "kind": kind, "recorded_at": at, "hash": bytes(digest).hex()[:SHORT_HASH]}
        for seq, kind, at, digest in rows.values_list("seq", "kind", "recorded_at", "hash")
    ]


# --- The lineage graph ------------------------------------------------------------------------

USE_CASE_KIND = "use case"
# The most entries listed on a lineage node's page (a dataset read by every nightly run).
NODE_ENTRIES_SHOWN = 200


def node_url(subject: str) -> str:
    """A lineage node's page: a version's own page, anything else its lineage node page."""
    return version_url(subject) or reverse("portal:lineage-node", args=[subject])


def _use_case_url(slug: str) -> str:
    try:
        return reverse("portal:usecase", args=[slug])
    except NoReverseMatch:  # no use-case page: its ledger entries
        return reverse("portal:ledger") + f"?subject=usecase:{slug}"


def _graph(subject: str, upstream: dict[str, Any]) -> dict[str, Any]:
    """Upstream (from the report's lineage) and downstream of a version, drawn as one figure
    whose boxes are links, and listed as plain links for those who do not read the figure.

    Downstream is one more walk of the graph (a fixed number of queries): the nodes built
    from the version, at negative depths so they are drawn to its right, and the use cases it
    is authorized for (as version or as fallback)."""
    down = _downstream(subject)
    below: list[dict[str, Any]] = []
    edges = [(e["source"], e["target"]) for e in upstream["edges"]]
    if down is not None:
        for node in down.nodes:
            if node.depth > 0:
                below.append(_listed(node.subject, node.kind, node.name, -node.depth))
        edges += [(source, target) for source, target, _ in down.edges]
        depths = {node.subject: node.depth for node in down.nodes}
        for version in down.versions:
            depth = -depths.get(version["subject"], 0) - 1
            for use in version["use_cases"]:
                key = f"usecase:{use['use_case']}"
                if all(n["subject"] != key for n in below):
                    label = f"{use['use_case']} ({use['status']}, as {use['as']})"
                    url = _use_case_url(use["use_case"])
                    below.append(_listed(key, USE_CASE_KIND, label, depth, url))
                edges.append((version["subject"], key))
    above = [
        _listed(n["subject"], n["kind"] if n["recorded"] else "", n["name"], n["depth"])
        for n in upstream["nodes"]
    ]
    nodes = above + below
    figure = figures.lineage_svg(
        [figures.GraphNode(n["subject"], n["kind"], n["label"], n["depth"]) for n in nodes],
        edges,
        max_width_mm=400,
        links={n["subject"]: n["url"] for n in nodes if n["url"]},
    )
    return {
        "figure": figure,
        "upstream": [n for n in above if n["depth"] > 0],
        "downstream": below,
    }


def _downstream(subject: str) -> lineage.Graph | None:
    try:
        return impact.downstream(subject)
    except DomainError:  # the version is not (yet) a lineage node
        return None


def _listed(
    subject: str, kind: str, name: str, depth: int, url: str | None = None
) -> dict[str, Any]:
    """A node as the figure and the lists show it; a node named by an edge but never
    recorded (no kind) has no page to link to."""
    label = (name or subject).removeprefix(f"{kind}:") if kind else subject
    return {
        "subject": subject,
        "kind": kind,
        "label": label,
        "depth": depth,
        "distance": abs(depth),
        "url": url if url is not None else (node_url(subject) if kind else ""),
    }


def lineage_node_page(subject: str) -> dict[str, Any]:
    """One lineage node: its facts, the nodes up- and downstream of it (each a link), and the
    ledger entries that recorded it and its edges. Unknown subject → 404."""
    node = Node.objects.filter(subject=subject).first()
    if node is None:
        raise Http404(f"{subject} is not recorded in the lineage")
    up, down = lineage.upstream(subject), lineage.downstream(subject)
    seqs = {node.recorded_seq, node.updated_seq}
    seqs.update(
        Edge.objects.filter(Q(source=subject) | Q(target=subject)).values_list("seq", flat=True)
    )
    rows = Entry.objects.filter(Q(seq__in=seqs) | Q(subject=subject)).order_by("seq")
    return {
        "node": node,
        "facts": sorted(node.facts.items()),
        "version_url": version_url(subject),
        "upstream": [_reached(n) for n in up.nodes if n.depth > 0],
        "downstream": [_reached(n) for n in down.nodes if n.depth > 0],
        "entries": [
            {"seq": seq, "kind": kind, "recorded_at": at, "hash": bytes(digest).hex()[:SHORT_HASH]}
            for seq, kind, at, digest in rows.values_list("seq", "kind", "recorded_at", "hash")[
                :NODE_ENTRIES_SHOWN
            ]
        ],
    }


def _reached(node: lineage.Reached) -> dict[str, Any]:
    return {**_listed(node.subject, node.kind, node.name, node.depth), "recorded": bool(node.kind)}
