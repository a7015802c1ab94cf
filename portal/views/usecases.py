"""Use cases and their authorizations: the list, a use case's page, proposing an
authorization, rolling back to the fallback, and the inventory as it stood on a past day."""

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry import queries, services
from auditreg.registry.domain import AuthorizationStatus, Role, Stage
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    Principal,
    RegisteredModel,
    Signature,
    UseCase,
)
from portal.access import reader_required
from portal.pages import render_page
from portal.views import signoff

# The roles the registry lets propose an authorization and roll a use case back.
PROPOSERS = {Role.DEVELOPER.value, Role.APPROVER.value, Role.MODEL_RISK_COMMITTEE.value}
ROLLERS = {r.value for r in services.GOVERNORS}


@reader_required
def use_cases(request: HttpRequest, me: Principal) -> HttpResponse:
    rows = list(UseCase.objects.select_related("model").order_by("slug"))
    production: dict[str, str] = {
        str(model): subject
        for model, subject in ModelVersion.objects.filter(stage=Stage.PRODUCTION).values_list(
            "model_id", "subject"
        )
    }
    now = timezone.now()
    in_force: dict[str, list[str]] = {}
    for auth in Authorization.objects.filter(status=AuthorizationStatus.ACTIVE).order_by("number"):
        if auth.in_force(now):
            in_force.setdefault(auth.use_case_id, []).append(auth.version_id)
    items = [
        {
            "use_case": uc,
            "production": production.get(uc.model_id),
            "authorized": in_force.get(uc.slug, []),
        }
        for uc in rows
    ]
    return render_page(request, me, "portal/usecases.html", "usecases", {"items": items})


class UseCaseForm(forms.Form):
    slug = forms.SlugField(label="Slug (a short name for links, e.g. us-retail-credit-pd)")
    title = forms.CharField(label="Title", max_length=200)
    model = forms.ChoiceField(label="Model")
    population = forms.CharField(label="Intended population", max_length=2000)
    description = forms.CharField(
        label="Description (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, models: list[RegisteredModel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(m.slug, f"{m.name} ({m.slug})") for m in models]

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"])
        if slug == "new":  # the address of this form
            raise forms.ValidationError("choose another slug: 'new' is reserved")
        return slug


@reader_required
def define(request: HttpRequest, me: Principal) -> HttpResponse:
    """Define a use a model may be authorized for (approvers, the committee, administrators)."""
    if request.method == "POST" and signoff.read_only(me):
        return signoff.forbid(request, me)
    models = {m.slug: m for m in RegisteredModel.objects.order_by("name")}
    wanted = request.GET.get("model", "")
    if request.method == "POST":
        form = UseCaseForm(request.POST, models=list(models.values()))
    else:
        form = UseCaseForm(initial={"model": wanted}, models=list(models.values()))
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            uc = services.create_use_case(
                slug=data["slug"],
                title=data["title"],
                model=models[data["model"]],
                population=data["population"],
                description=data["description"],
                by=me,
            )
        except DomainError as error:
            refusal = str(error)
        else:
            messages.success(request, f"Use case {uc.slug} is defined.")
            return redirect("portal:usecase", slug=uc.slug)
    context = {
        "form": form,
        "refusal": refusal,
        "may_define": bool(me.roles() & ROLLERS),
    }
    return render_page(request, me, "portal/usecase_new.html", "usecases", context)


def find_use_case(slug: str) -> UseCase:
    use_case = UseCase.objects.select_related("model").filter(slug=slug).first()
    if use_case is None:
        raise Http404(f"there is no use case {slug}")
    return use_case


@reader_required
def use_case(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    uc = find_use_case(slug)
    now = timezone.now()
    authorizations = list(
        Authorization.objects.filter(use_case=uc)
        .select_related("version__model", "fallback")
        .order_by("-number")
    )
    signatures: dict[str, list[Signature]] = {}
    for s in Signature.objects.filter(authorization__in=authorizations).order_by("seq"):
        signatures.setdefault(s.subject, []).append(s)
    production = ModelVersion.objects.filter(model=uc.model, stage=Stage.PRODUCTION).first()
    rows = [_authorization_row(me, a, signatures.get(a.subject, []), now) for a in authorizations]
    context = {
        "use_case": uc,
        "production": production,
        "production_authorized": production is not None
        and any(r["in_force"] and r["auth"].version_id == production.subject for r in rows),
        "authorizations": rows,
        "may_propose": bool(me.roles() & PROPOSERS),
        "may_roll_back": bool(me.roles() & ROLLERS),
    }
    return render_page(request, me, "portal/usecase.html", "usecases", context)


def _authorization_row(
    me: Principal, auth: Authorization, signatures: list[Signature], now: datetime
) -> dict[str, Any]:
    proposed = auth.status == AuthorizationStatus.PROPOSED
    return {
        "auth": auth,
        "in_force": auth.in_force(now),
        "signatures": signatures,
        "missing": services.authorization_missing(auth) if proposed else [],
        "choices": signoff.authorization_choices(me, auth),
    }


# --- Proposing an authorization ------------------------------------------------------------------


class ProposalForm(forms.Form):
    """Shape only: the registry checks the rules (approved version, policy window, fallback)."""

    version = forms.TypedChoiceField(label="Version to authorize", coerce=int)
    effective_on = forms.DateField(
        label="Effective from (date)", widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label="Expires at the end of (date; empty for the policy's default)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    conditions = forms.CharField(
        label="Conditions, one per line",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    fallback = forms.TypedChoiceField(
        label="Fallback version", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, versions: list[ModelVersion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbered = [(v.number, f"{v.number} ({v.stage})") for v in versions]
        self.fields["version"].choices = numbered  # type: ignore[attr-defined]
        self.fields["fallback"].choices = [("", "No fallback"), *numbered]  # type: ignore[attr-defined]

    def condition_lines(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["conditions"].splitlines() if line.strip()
        ]


@reader_required
def propose(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    uc = find_use_case(slug)
    if request.method == "POST" and signoff.read_only(me):
        return signoff.forbid(request, me)
    versions = {v.number: v for v in ModelVersion.objects.filter(model=uc.model).order_by("number")}
    today = timezone.now().astimezone(services.organisation_zone()).date()
    initial = {"effective_on": today}
    if request.method == "POST":
        form = ProposalForm(request.POST, versions=list(versions.values()))
    else:
        form = ProposalForm(initial=initial, versions=list(versions.values()))
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            auth = services.propose_authorization(
                version=versions[data["version"]],
                use_case=uc,
                effective_on=data["effective_on"],
                expires_on=data["expires_on"],
                conditions=form.condition_lines(),
                fallback=None if data["fallback"] is None else versions[data["fallback"]],
                by=me,
            )
        except DomainError as error:
            refusal = str(error)
        else:
            missing = "; ".join(services.authorization_missing(auth))
            messages.success(
                request,
                f"Authorization {auth.number} was proposed. It is in force once the policy's "
                f"signatures are given: it needs {missing}.",
            )
            return redirect("portal:usecase", slug=slug)
    context = {
        "use_case": uc,
        "form": form,
        "refusal": refusal,
        "window": _policy_window(uc, today),
        "may_propose": bool(me.roles() & PROPOSERS),
    }
    return render_page(request, me, "portal/usecase_authorize.html", "usecases", context)


def _policy_window(uc: UseCase, today: date) -> dict[str, Any]:
    """The tier policy's expiry rule in figures, or why there is no policy to apply."""
    try:
        policy = services.policy_for(uc.model)
    except DomainError as error:
        return {"missing": str(error)}
    return {
        "tier": policy.risk_tier,
        "months": policy.review_months,
        "today": today,
        "latest": services.latest_expiry(policy, today),
        "zone": services.organisation_zone().key,
        "needs": "; ".join(
            f"{r['count']} {r['meaning']} by {r['role'].replace('_', ' ')}"
            for r in policy.authorization
        ),
    }


# --- Rolling back to the fallback ----------------------------------------------------------------


@reader_required
def roll_back(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    uc = find_use_case(slug)
    if request.method == "POST" and signoff.read_only(me):
        return signoff.forbid(request, me)
    refusal = ""
    if request.method == "POST":
        try:
            restored = services.rollback(use_case=uc, reason=request.POST.get("reason", ""), by=me)
        except DomainError as error:
            refusal = str(error)
        else:
            messages.success(
                request, f"Rolled back: {restored.subject} is in production again for {uc.title}."
            )
            return redirect("portal:usecase", slug=slug)
    context = {
        "use_case": uc,
        "plan": _rollback_plan(uc),
        "refusal": refusal,
        "reason": request.POST.get("reason", ""),
        "may_roll_back": bool(me.roles() & ROLLERS),
    }
    return render_page(request, me, "portal/usecase_rollback.html", "usecases", context)


def _rollback_plan(uc: UseCase) -> dict[str, Any]:
    """What a rollback would do now, as the registry will decide it (it re-checks on POST)."""
    current = ModelVersion.objects.filter(model=uc.model, stage=Stage.PRODUCTION).first()
    if current is None:
        return {"current": None}
    auth = (
        uc.authorizations.filter(version=current, activated_at__isnull=False)
        .select_related("fallback")
        .order_by("-number")
        .first()
    )
    return {"current": current, "authorization": auth, "fallback": auth and auth.fallback}


# --- The inventory as it stood on a past day -----------------------------------------------------


@reader_required
def as_of(request: HttpRequest, me: Principal) -> HttpResponse:
    wanted = request.GET.get("date", "").strip()[:20]
    context: dict[str, Any] = {"wanted": wanted}
    if wanted:
        try:
            context |= _snapshot(wanted, me)
        except DomainError as error:
            context["refusal"] = str(error)
    return render_page(request, me, "portal/asof.html", "usecases", context)


def _snapshot(wanted: str, me: Principal) -> dict[str, Any]:
    """The registry at the end of day `wanted` in the person's time zone (now, for today)."""
    try:
        day = date.fromisoformat(wanted)
    except ValueError:
        raise DomainError(f"{wanted!r} is not a date: write it as 2026-03-31") from None
    now = timezone.now()
    if day > timezone.localdate(now):
        raise DomainError(f"{day} has not come yet: choose today or an earlier day")
    end = datetime.combine(day, time.max, timezone.get_current_timezone())
    moment = min(end, now)
    snapshot = queries.as_of(moment, by=me)
    entry = Entry.objects.filter(recorded_at__lte=moment).order_by("-seq").first()
    registered = ModelVersion.objects.filter(registered_at__lte=moment).order_by("model", "number")
    # The registry's own point-in-time reading of each version (stage, review, approvals).
    versions = queries.versions_at(moment, registered.values_list("subject", flat=True))
    by_model: dict[str, list[queries.VersionAt]] = {}
    for subject, version in versions.items():
        by_model.setdefault(subject.removeprefix("model:").split("/")[0], []).append(version)
    for listed in by_model.values():
        listed.sort(key=lambda v: int(v.subject.rsplit("/", 1)[1]))
    return {
        "day": day,
        "moment": moment,
        "today": moment < end,
        "entry": entry,
        "models": [{"model": m, "versions": by_model.get(m.slug, [])} for m in snapshot.models],
        "use_cases": snapshot.use_cases,
    }
