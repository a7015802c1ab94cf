"""Model and version pages. A version page shows what the model risk report states, gathered
by `reports.content` in a fixed number of queries, plus the ledger entries it rests on."""

from typing import Any

from django.http import Http404

from auditreg.ledger.models import Entry
from auditreg.registry import services
from auditreg.registry.models import ModelVersion, RegisteredModel, UseCase
from lineage import queries as lineage
from reports import content

# The first hex digits of an entry hash shown in lists; the entry page shows all of it.
SHORT_HASH = 12


def model_page(slug: str) -> dict[str, Any]:
    """The model's inventory facts, its versions and its use cases. Unknown slug → 404."""
    model = RegisteredModel.objects.filter(slug=slug).first()
    if model is None:
        raise Http404(f"there is no model {slug}")
    return {
        "model": model,
        "versions": list(ModelVersion.objects.filter(model=model).order_by("-number")),
        "use_cases": list(UseCase.objects.filter(model=model).order_by("slug")),
    }


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
        "entries": _entries(seqs),
        "change_requests": services.change_requests([version]).get(version.subject, []),
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
    if not wanted.isdigit() or int(wanted) not in numbers:
        return None, f"{version.model.name} has no version {wanted[:20]}."
    if int(wanted) == version.number:
        return None, "Choose another version than this one."
    other = f"{version.model.subject}/{int(wanted)}"
    return content._diff_rows(lineage.diff(other, version.subject)), ""


def _entries(seqs: list[int]) -> list[dict[str, Any]]:
    rows = Entry.objects.filter(seq__in=seqs).order_by("seq")
    return [
        {"seq": seq, "kind": kind, "recorded_at": at, "hash": bytes(digest).hex()[:SHORT_HASH]}
        for seq, kind, at, digest in rows.values_list("seq", "kind", "recorded_at", "hash")
    ]
