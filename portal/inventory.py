"""The model inventory: search, filters and sorting over registered models."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict

from auditreg.registry.models import ModelVersion, RegisteredModel, UseCase

PAGE_SIZE = 50
# Column name in the query string → ORDER BY field(s); the slug breaks ties, so pages are stable.
SORTS = {
    "name": "name",
    "slug": "slug",
    "owner": "owner",
    "domain": "domain",
    "risk_tier": "risk_tier",
    "versions": "version_count",
    "registered": "registered_at",
}


@dataclass(frozen=True)
class Query:
    q: str
    domain: str
    risk_tier: str
    stage: str
    owner: str
    use_case: str
    sort: str

    @classmethod
    def from_params(cls, params: QueryDict) -> "Query":
        def get(name: str) -> str:
            return params.get(name, "").strip()[:200]

        sort = get("sort")
        if sort.removeprefix("-") not in SORTS:
            sort = "name"
        return cls(
            q=get("q"),
            domain=get("domain"),
            risk_tier=get("risk_tier"),
            stage=get("stage"),
            owner=get("owner"),
            use_case=get("use_case"),
            sort=sort,
        )

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def column(self) -> str:
        return self.sort.removeprefix("-")


def search(query: Query) -> QuerySet[RegisteredModel]:
    models = RegisteredModel.objects.all()
    if query.q:
        models = models.filter(
            Q(name__icontains=query.q) | Q(slug__icontains=query.q) | Q(owner__icontains=query.q)
        )
    if query.domain:
        models = models.filter(domain=query.domain)
    if query.risk_tier:
        models = models.filter(risk_tier=query.risk_tier)
    if query.owner:
        models = models.filter(owner=query.owner)
    if query.stage:
        versions = ModelVersion.objects.filter(model=OuterRef("slug"), stage=query.stage)
        models = models.filter(Exists(versions))
    if query.use_case:
        # A bank has thousands of use cases: the filter is typed, and matches a slug or title.
        use_cases = UseCase.objects.filter(model=OuterRef("slug")).filter(
            Q(slug__icontains=query.use_case) | Q(title__icontains=query.use_case)
        )
        models = models.filter(Exists(use_cases))
    latest = ModelVersion.objects.filter(model=OuterRef("slug")).order_by("-number")
    counts = (
        ModelVersion.objects.filter(model=OuterRef("slug"))
        .order_by()
        .values("model")
        .annotate(n=Count("id"))
        .values("n")
    )
    field = SORTS[query.column]
    return models.annotate(
        latest_number=Subquery(latest.values("number")[:1]),
        latest_stage=Subquery(latest.values("stage")[:1]),
        version_count=Coalesce(Subquery(counts), 0),
    ).order_by(f"-{field}" if query.descending else field, "slug")


def choices() -> dict[str, list[str]]:
    """The values the filters offer, one query each."""
    return {
        "domains": list(
            RegisteredModel.objects.order_by("domain").values_list("domain", flat=True).distinct()
        ),
        "owners": list(
            RegisteredModel.objects.order_by("owner").values_list("owner", flat=True).distinct()
        ),
    }
