"""What the lineage means for the registry: the model versions built from a dataset and
what they are authorized for, what changed between two versions, and which versions'
lineage is sealed by a signature (lineage refuses to change those: `AUDITREG_SIGNED_VERSIONS`).
"""

from collections.abc import Collection, Mapping
from typing import Any

from django.utils import timezone

from auditreg.errors import DomainError
from auditreg.registry.models import Authorization, ModelVersion, Signature
from lineage import queries as lineage


def downstream(subject: str) -> lineage.Graph:
    """The nodes built from `subject`; `versions` lists the model versions among them with
    their stage and the authorizations naming them (as version or as fallback)."""
    graph = lineage.downstream(subject)
    version_subjects = [node.subject for node in graph.nodes if node.kind == "version"]
    versions = ModelVersion.objects.filter(subject__in=version_subjects).order_by("subject")
    authorizations = Authorization.objects.filter(version__subject__in=version_subjects)
    fallbacks = Authorization.objects.filter(fallback__subject__in=version_subjects)
    now = timezone.now()
    uses: dict[str, list[dict[str, Any]]] = {subject: [] for subject in version_subjects}
    for role, queryset in (("version", authorizations), ("fallback", fallbacks)):
        for auth in queryset.select_related("use_case", "version", "fallback"):
            named = auth.version if role == "version" else auth.fallback
            assert named is not None
            uses[named.subject].append(
                {
                    "use_case": auth.use_case.slug,
                    "authorization": auth.subject,
                    "as": role,
                    "status": auth.status,
                    "in_force": auth.in_force(now),
                    "effective_on": auth.effective_on.isoformat(),
                    "expires_on": auth.expires_on.isoformat(),
                }
            )
    graph.versions = [
        {
            "subject": version.subject,
            "stage": version.stage,
            "review_required": version.review_required,
            "use_cases": sorted(uses[version.subject], key=lambda use: use["authorization"]),
        }
        for version in versions
    ]
    return graph


def signed_versions(subjects: Collection[str]) -> list[str]:
    """Those of the model versions `subjects` that someone has signed, in order."""
    signed = Signature.objects.filter(version_id__in=list(subjects))
    return sorted({str(subject) for subject in signed.values_list("version_id", flat=True)})


def diff(first: str, second: str) -> dict[str, Any]:
    """What changed from version `first` to version `second`."""
    a, b = (_version(subject) for subject in (first, second))
    data = {
        side: lineage.snapshots_upstream(version.subject) for side, version in (("a", a), ("b", b))
    }
    pa, pb = a.package, b.package
    return {
        "from": a.subject,
        "to": b.subject,
        "artifact": _change(pa["artifact"]["digest"], pb["artifact"]["digest"]),
        "data": {
            "added": sorted(data["b"].keys() - data["a"].keys()),
            "removed": sorted(data["a"].keys() - data["b"].keys()),
            "unchanged": sorted(data["a"].keys() & data["b"].keys()),
        },
        "code": _change(
            {k: pa["code"][k] for k in ("repository", "commit", "dirty")},
            {k: pb["code"][k] for k in ("repository", "commit", "dirty")},
        ),
        "environment": {
            "lock_digest": _change(
                pa["environment"]["lock_digest"], pb["environment"]["lock_digest"]
            ),
            "python": _change(pa["environment"]["python"], pb["environment"]["python"]),
            "packages": _mapping_diff(pa["environment"]["packages"], pb["environment"]["packages"]),
        },
        "parameters": _mapping_diff(pa["hyperparameters"], pb["hyperparameters"]),
        "metrics": _mapping_diff(pa["metrics"], pb["metrics"]),
    }


def _version(subject: str) -> ModelVersion:
    version = ModelVersion.objects.filter(subject=subject).first()
    if version is None:
        raise DomainError(f"{subject} is not a registered model version")
    return version


def _change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after, "changed": before != after}


def _mapping_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "added": {name: after[name] for name in sorted(after.keys() - before.keys())},
        "removed": {name: before[name] for name in sorted(before.keys() - after.keys())},
        "changed": {
            name: {"from": before[name], "to": after[name]}
            for name in sorted(before.keys() & after.keys())
            if before[name] != after[name]
        },
    }
