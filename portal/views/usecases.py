"""Use cases and their authorizations: the list, a use case's page, proposing an
authorization, rolling back to the fallback, and the inventory as it stood on a past day."""

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry import queries, rules, selectors
from auditreg.registry.domain import AuthorizationStatus, stored_requirements
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    Policy,
    RegisteredModel,
    Signature,
    UseCase,
)
from auditreg.registry.services import authorizations
from portal.access import reader_required
from portal.pages import render_page
from portal.views import signoff

PAGE_SIZE = 50


def _may(me: Principal, roles: frozenset[Role]) -> bool:
    return rules.holds(me.roles(), roles)


@reader_required
def use_cases(request: HttpRequest, me: Principal) -> HttpResponse:
    """The use cases, a page at a time, with the version in production and those authorized
    now (`Authorization.objects.in_force`) for each on the page."""
    found = UseCase.objects.select_related("model").order_by("slug")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    production = dict(
        ModelVersion.objects.in_production()
        .filter(model_id__in={uc.model_id for uc in shown})
        .values_list("model_id", "subject")
    )
    in_force: dict[str, list[str]] = {}
    authorized = (
        Authorization.objects.in_force(timezone.now())
        .filter(use_case_id__in=[uc.slug for uc in shown])
        .order_by("number")
        .values_list("use_case_id", "version_id")
    )
    for use_case, version in authorized:
        in_force.setdefault(str(use_case), []).append(str(version))
    items = [
        {
            "use_case": uc,
            "production": production.get(uc.model_id),
            "authorized": in_force.get(uc.slug, []),
        }
        for uc in shown
    ]
    context = {"items": items, "page": page, "page_params": ""}
    return render_page(request, me, "portal/usecases.html", "usecases", context)


class UseCaseForm(forms.Form):
    slug = forms.SlugField(label="Slug (a short name for links, e.g. us-retail-credit-pd)")
    title = forms.CharField(label="Title", max_length=200)
    # Typed, not chosen from a list: a bank's inventory holds thousands of models.
    model = forms.SlugField(
        label="Model (its slug, as in the inventory, e.g. credit-pd)", max_length=63
    )
    population = forms.CharField(label="Intended population", max_length=2000)
    description = forms.CharField(
        label="Description (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"])
        if slug == "new":  # the address of this form
            raise forms.ValidationError("choose another slug: 'new' is reserved")
        return slug

    def clean_model(self) -> RegisteredModel:
        slug = str(self.cleaned_data["model"])
        model = RegisteredModel.objects.filter(slug=slug).first()
        if model is None:
            raise forms.ValidationError(f"there is no model {slug} in the inventory")
        return model


@reader_required
def define(request: HttpRequest, me: Principal) -> HttpResponse:
    """Define a use a model may be authorized for (approvers, the committee, administrators)."""
    if request.method == "POST" and signoff.read_only(me):
        return signoff.forbid(request, me)
    wanted = request.GET.get("model", "")[:63]
    if request.method == "POST":
        form = UseCaseForm(request.POST)
    else:
        form = UseCaseForm(initial={"model": wanted})
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            uc = authorizations.create_use_case(
                slug=data["slug"],
                title=data["title"],
                model=data["model"],
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
        "may_define": _may(me, rules.GOVERNORS),
        "definers": " or ".join(rules.roles_words(rules.GOVERNORS)),
    }
    return render_page(request, me, "portal/usecase_new.html", "usecases", context)


def find_use_case(slug: str) -> UseCase:
    use_case = UseCase.objects.select_related("model").filter(slug=slug).first()
    if use_case is None:
        raise Http404(f"there is no use case {slug}")
    return use_case


@reader_required
def use_case(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    """A use case and its authorizations, in a fixed number of queries however many: their
    signatures in one, the tier's policy once."""
    uc = find_use_case(slug)
    now = timezone.now()
    listed = list(
        uc.authorizations.select_related("version__model", "fallback").order_by("-number")
    )
    signatures: dict[str, list[Signature]] = {a.subject: [] for a in listed}
    for s in Signature.objects.filter(authorization__in=listed).order_by("seq"):
        signatures[s.subject].append(s)
    policies = {p.risk_tier: p for p in Policy.objects.filter(risk_tier=uc.model.risk_tier)}
    production = ModelVersion.objects.in_production().filter(model=uc.model).first()
    rows = [_authorization_row(me, a, signatures[a.subject], policies, now) for a in listed]
    context = {
        "use_case": uc,
        "production": production,
        "production_authorized": production is not None
        and any(r["in_force"] and r["auth"].version_id == production.subject for r in rows),
        "authorizations": rows,
        "may_propose": _may(me, rules.PROPOSERS),
        "may_roll_back": _may(me, rules.GOVERNORS),
    }
    return render_page(request, me, "portal/usecase.html", "usecases", context)


def _authorization_row(
    me: Principal,
    auth: Authorization,
    signatures: list[Signature],
    policies: dict[str, Policy],
    now: datetime,
) -> dict[str, Any]:
    policy = policies.get(auth.version.model.risk_tier)
    missing = []
    if auth.status == AuthorizationStatus.PROPOSED and policy is not None:
        counting = [s for s in signatures if selectors.counts_on(auth, s)]
        required = selectors.requirements(policy, auth)
        missing = rules.missing_signatures(required, selectors.as_signed(counting))
    return {
        "auth": auth,
        "in_force": auth.in_force(now),
        "signatures": signatures,
        "missing": missing,
        "choices": signoff.authorization_choices(me, auth, policies=policies),
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
    today = timezone.now().astimezone(selectors.organisation_zone()).date()
    initial = {"effective_on": today}
    if request.method == "POST":
        form = ProposalForm(request.POST, versions=list(versions.values()))
    else:
        form = ProposalForm(initial=initial, versions=list(versions.values()))
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            auth = authorizations.propose_authorization(
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
            missing = "; ".join(selectors.authorization_missing(auth))
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
        "may_propose": _may(me, rules.PROPOSERS),
        "proposers": " or ".join(rules.roles_words(rules.PROPOSERS)),
    }
    return render_page(request, me, "portal/usecase_authorize.html", "usecases", context)


def _policy_window(uc: UseCase, today: date) -> dict[str, Any]:
    """The tier policy's expiry rule in figures, or why there is no policy to apply."""
    try:
        policy = selectors.policy_for(uc.model)
    except DomainError as error:
        return {"missing": str(error)}
    return {
        "tier": policy.risk_tier,
        "months": policy.review_months,
        "today": today,
        "latest": rules.latest_expiry(policy.review_months, today),
        "zone": selectors.organisation_zone().key,
        "needs": rules.policy_words(stored_requirements(policy.authorization)),
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
            restored = authorizations.rollback(
                use_case=uc, reason=request.POST.get("reason", ""), by=me
            )
        except DomainError as error:
            refusal = str(error)
        else:
            messages.success(
                request, f"Rolled back: {restored.subject} is in production again for {uc.title}."
            )
            return redirect("portal:usecase", slug=slug)
    context = {
        "use_case": uc,
        "plan": selectors.rollback_plan(uc),
        "refusal": refusal,
        "reason": request.POST.get("reason", ""),
        "may_roll_back": _may(me, rules.GOVERNORS),
        "rollers": " or ".join(rules.roles_words(rules.GOVERNORS)),
    }
    return render_page(request, me, "portal/usecase_rollback.html", "usecases", context)


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
