"""Administration pages: people and services with their roles, service API tokens, and the
risk tiers' policies.

Administrators change these through the registry's services, so every change is a ledger
entry whose seq the success message names. Auditors see the pages and change nothing;
anyone else gets 403.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache, wraps
from typing import Any, Concatenate, ParamSpec
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.core.validators import RegexValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import USERNAME, Role, Scope
from auditreg.accounts.models import ApiToken, Principal, RoleAssignment
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from auditreg.registry import rules
from auditreg.registry.domain import (
    REQUIRED_MEANINGS,
    SIGNING_ROLES,
    Meaning,
    RiskTier,
    stored_requirements,
)
from auditreg.registry.models import Policy
from auditreg.registry.services import policies as tier_policies
from portal.access import reader_required
from portal.pages import render_page

P = ParamSpec("P")
AdminView = Callable[Concatenate[HttpRequest, Principal, P], HttpResponse]

SECTION = "administration"
# Methods that only read: an auditor may use them; every other method changes something.
READING = ("GET", "HEAD")
DECISIONS = ("approval", "authorization")
# A role form's action: the entry it appends and how the message says it.
ROLE_CHANGES = {"grant": "granted to", "revoke": "revoked from"}
# Blank rows offered under a policy's current requirements, to add new ones.
SPARE_ROWS = 2
MAX_ROWS = 20
HISTORY_LIMIT = 50


# The people and services listed, and the tokens, a page at a time.
PAGE_SIZE = 50


def _role_choices(roles: Iterable[Role]) -> list[tuple[str, str]]:
    return [(role.value, role.label) for role in roles]


def _choices(values: Iterable[Meaning] | Iterable[Scope]) -> list[tuple[str, str]]:
    return [(value.value, value.value) for value in values]


@cache
def _zones() -> list[str]:
    """The IANA time zone names a person may be enrolled in (about 600): sorted once."""
    return sorted(available_timezones())


def _page(request: HttpRequest, rows: Any) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Who may see and change ----------------------------------------------------------------------


def administration(view: AdminView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Administrators may do anything here; auditors may only read (an auditor sees all and
    changes nothing); other roles get 403, as does an auditor's POST, before any service is
    called."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, me: Principal, /, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        roles = me.roles()
        if Role.ADMINISTRATOR.value in roles:
            return view(request, me, *args, **kwargs)
        if Role.AUDITOR.value in roles and request.method in READING:
            return view(request, me, *args, **kwargs)
        return _forbidden(request, me)

    return reader_required(wrapper)


def _forbidden(request: HttpRequest, me: Principal) -> HttpResponse:
    auditor = Role.AUDITOR.value in me.roles()
    response = render_page(
        request, me, "portal/admin_forbidden.html", SECTION, {"auditor": auditor}
    )
    response.status_code = 403
    return response


def _can_change(me: Principal) -> bool:
    return Role.ADMINISTRATOR.value in me.roles()


def _last_seq(subject: str, kind: str, by: Principal) -> int | None:
    """The seq of the last entry of `kind` that `by` appended on `subject`: for an enrolment,
    whose subject no one else can write while it is being created."""
    entries = Entry.objects.filter(subject=subject, kind=kind, actor=by.actor_id)
    return entries.order_by("-seq").values_list("seq", flat=True).first()


# --- Forms: they check shape; the services check the rules ----------------------------------------


# The registry's own rule for names, checked with the other fields so that every mistake
# shows at once (the service checks it again).
NAME_RULE = RegexValidator(
    rf"\A{USERNAME.pattern}\Z",
    "Use lower-case letters, digits, . _ - and start with a letter, such as jane.doe",
)


class PersonForm(forms.Form):
    username = forms.CharField(
        max_length=63, help_text="Lower-case letters, digits, . _ -", validators=[NAME_RULE]
    )
    printed_name = forms.CharField(
        max_length=200, help_text="Shown with each of their signatures (21 CFR 11.50)."
    )
    email = forms.EmailField(required=False, label="E-mail")
    time_zone = forms.CharField(
        max_length=64,
        help_text="An IANA time zone name, such as Europe/London.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}),
    )
    password = forms.CharField(
        label="Initial password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="They sign with it: give it to them privately.",
    )
    roles = forms.MultipleChoiceField(
        choices=_role_choices(Role), required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "password" in cleaned:
            user = get_user_model()(
                username=cleaned.get("username", ""), email=cleaned.get("email", "")
            )
            try:
                validate_password(cleaned["password"], user)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ServiceForm(forms.Form):
    name = forms.CharField(
        max_length=63, help_text="Lower-case letters, digits, . _ -", validators=[NAME_RULE]
    )
    printed_name = forms.CharField(max_length=200, help_text="What the pipeline or job is.")
    roles = forms.MultipleChoiceField(
        choices=_role_choices(Role), required=False, widget=forms.CheckboxSelectMultiple
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=_role_choices(Role))
    action = forms.ChoiceField(choices=[("grant", "grant"), ("revoke", "revoke")])


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Give a reason: it is recorded in the ledger."},
    )


class ActiveForm(ReasonForm):
    active = forms.TypedChoiceField(
        choices=[("true", "reactivate"), ("false", "deactivate")],
        coerce=lambda value: value == "true",
    )


class TokenForm(forms.Form):
    service = forms.ChoiceField(label="Service principal")
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. nightly.")
    scopes = forms.MultipleChoiceField(choices=_choices(Scope), widget=forms.CheckboxSelectMultiple)
    days = forms.IntegerField(
        label="Days valid",
        min_value=1,
        max_value=accounts.MAX_TOKEN_DAYS,
        initial=90,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_ = Principal.objects.filter(kind="service", active=True).order_by("username")
        field = self.fields["service"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.actor_id, f"{s.printed_name} ({s.actor_id})") for s in services_]


class PolicyForm(forms.Form):
    """A tier's review interval and its required signatures, one row per requirement; a row
    with no role is left out."""

    review_months = forms.IntegerField(label="Review interval (months)", min_value=1, max_value=60)

    def __init__(self, *args: Any, rows: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for decision in DECISIONS:
            for n in range(rows):
                what = f"{decision.capitalize()} requirement {n + 1}"
                # Shown in a table without <label>s: each control names itself.
                self.fields[f"{decision}_{n}_role"] = forms.ChoiceField(
                    choices=[("", "(none)"), *_role_choices(SIGNING_ROLES)],
                    required=False,
                    label=f"{what}: role",
                    widget=forms.Select(attrs={"aria-label": f"{what}: role"}),
                )
                self.fields[f"{decision}_{n}_meaning"] = forms.ChoiceField(
                    choices=_choices(REQUIRED_MEANINGS),
                    required=False,
                    label=f"{what}: meaning",
                    widget=forms.Select(attrs={"aria-label": f"{what}: meaning"}),
                )
                self.fields[f"{decision}_{n}_count"] = forms.IntegerField(
                    min_value=1,
                    max_value=10,
                    required=False,
                    label=f"{what}: how many",
                    widget=forms.NumberInput(attrs={"aria-label": f"{what}: how many"}),
                )

    def requirements(self, decision: str) -> list[dict[str, Any]]:
        found = []
        for n in range(self.rows):
            role = self.cleaned_data.get(f"{decision}_{n}_role")
            if role:
                found.append(
                    {
                        "role": role,
                        "meaning": self.cleaned_data.get(f"{decision}_{n}_meaning")
                        or Meaning.APPROVED.value,
                        "count": self.cleaned_data.get(f"{decision}_{n}_count") or 1,
                    }
                )
        return found

    def table(self, decision: str) -> list[dict[str, Any]]:
        """The bound fields of each row, for the template."""
        return [
            {
                "n": n + 1,
                "role": self[f"{decision}_{n}_role"],
                "meaning": self[f"{decision}_{n}_meaning"],
                "count": self[f"{decision}_{n}_count"],
            }
            for n in range(self.rows)
        ]


def _policy_initial(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    initial: dict[str, Any] = {"review_months": policy.review_months}
    for decision in DECISIONS:
        for n, item in enumerate(getattr(policy, decision)):
            initial[f"{decision}_{n}_role"] = item["role"]
            initial[f"{decision}_{n}_meaning"] = item["meaning"]
            initial[f"{decision}_{n}_count"] = item["count"]
    return initial


def _rows_for(policy: Policy | None) -> int:
    longest = max((len(getattr(policy, d)) for d in DECISIONS), default=0) if policy else 0
    return longest + SPARE_ROWS


# --- Users and roles -----------------------------------------------------------------------------


@administration
def users(request: HttpRequest, me: Principal) -> HttpResponse:
    return _users_page(request, me, _person_form(), ServiceForm(prefix="service"))


def _person_form(data: Any = None) -> PersonForm:
    return PersonForm(data, prefix="person", initial={"time_zone": settings.TIME_ZONE})


def _users_page(
    request: HttpRequest, me: Principal, person: PersonForm, service: ServiceForm
) -> HttpResponse:
    listed = _page(request, Principal.objects.order_by("kind", "username"))
    shown = [p.actor_id for p in listed]
    roles: dict[str, list[str]] = defaultdict(list)
    held = RoleAssignment.objects.filter(principal__in=shown).order_by("role")
    for actor_id, role in held.values_list("principal", "role"):
        roles[str(actor_id)].append(rules.role_words(role))
    principals = [{"principal": p, "roles": roles[p.actor_id]} for p in listed]
    context = {
        "principals": principals,
        "listed": listed,
        "can_change": _can_change(me),
        "person_form": person,
        "service_form": service,
        "zones": _zones(),
        "page": "users",
    }
    return render_page(request, me, "portal/admin_users.html", SECTION, context)


@require_POST
@administration
def enroll_person(request: HttpRequest, me: Principal) -> HttpResponse:
    form = _person_form(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            person = accounts.enroll_person(
                username=data["username"],
                printed_name=data["printed_name"],
                email=data["email"],
                time_zone=data["time_zone"],
                password=data["password"],
                roles=data["roles"],
                by=me,
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            _enrolled(request, person, me)
            return redirect("portal:admin-principal", actor_id=person.actor_id)
    return _users_page(request, me, form, ServiceForm(prefix="service"))


@require_POST
@administration
def enroll_service(request: HttpRequest, me: Principal) -> HttpResponse:
    form = ServiceForm(request.POST, prefix="service")
    if form.is_valid():
        data = form.cleaned_data
        try:
            service = accounts.enroll_service(
                name=data["name"], printed_name=data["printed_name"], roles=data["roles"], by=me
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            _enrolled(request, service, me)
            return redirect("portal:admin-principal", actor_id=service.actor_id)
    return _users_page(request, me, _person_form(), form)


def _enrolled(request: HttpRequest, principal: Principal, by: Principal) -> None:
    """Enrolling appends one entry, then one per role granted and, for a person with a
    password, one recording that it was set."""
    first = principal.enrolled_seq
    last = max(
        _last_seq(principal.actor_id, "role.granted", by) or first,
        _last_seq(principal.actor_id, "principal.password_set", by) or first,
    )
    seqs = f"entries #{first} to #{max(first, last)}" if last > first else f"entry #{first}"
    messages.success(request, f"Enrolled {principal}: ledger {seqs}.")


def _principal(actor_id: str) -> Principal:
    principal = Principal.objects.filter(actor_id=actor_id).exclude(kind="system").first()
    if principal is None:
        raise Http404("no such principal")
    return principal


@administration
def principal(request: HttpRequest, me: Principal, actor_id: str) -> HttpResponse:
    return _principal_page(request, me, _principal(actor_id))


def _principal_page(
    request: HttpRequest,
    me: Principal,
    who: Principal,
    role_form: RoleForm | None = None,
    active_form: ActiveForm | None = None,
) -> HttpResponse:
    held = sorted(who.roles())
    context = {
        "who": who,
        "held": [{"value": role, "label": rules.role_words(role)} for role in held],
        "grantable": _role_choices(r for r in Role if r.value not in held),
        "role_form": role_form or RoleForm(),
        "active_form": active_form or ActiveForm(),
        "tokens": ApiToken.objects.filter(principal=who).order_by("-created_at"),
        "history": Entry.objects.filter(subject=who.actor_id).order_by("-seq")[:HISTORY_LIMIT],
        "can_change": _can_change(me),
        "page": "users",
    }
    return render_page(request, me, "portal/admin_principal.html", SECTION, context)


@require_POST
@administration
def principal_role(request: HttpRequest, me: Principal, actor_id: str) -> HttpResponse:
    who = _principal(actor_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        role, action = Role(form.cleaned_data["role"]), form.cleaned_data["action"]
        change = accounts.grant_role if action == "grant" else accounts.revoke_role
        try:
            entry = change(principal=who, role=role, by=me)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            done = ROLE_CHANGES[action]
            messages.success(
                request, f"The role {role.label} was {done} {who}: ledger entry #{entry.seq}."
            )
            return redirect("portal:admin-principal", actor_id=who.actor_id)
    return _principal_page(request, me, who, role_form=form)


@require_POST
@administration
def principal_active(request: HttpRequest, me: Principal, actor_id: str) -> HttpResponse:
    who = _principal(actor_id)
    form = ActiveForm(request.POST)
    if form.is_valid():
        active = form.cleaned_data["active"]
        try:
            entry = accounts.set_active(
                principal=who, active=active, reason=form.cleaned_data["reason"], by=me
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            done = "reactivated" if active else "deactivated"
            messages.success(request, f"{who} was {done}: ledger entry #{entry.seq}.")
            return redirect("portal:admin-principal", actor_id=who.actor_id)
    return _principal_page(request, me, who, active_form=form)


# --- Service tokens ------------------------------------------------------------------------------


@administration
def tokens(request: HttpRequest, me: Principal) -> HttpResponse:
    return _tokens_page(request, me, TokenForm(initial={"service": request.GET.get("service")}))


def _tokens_page(
    request: HttpRequest, me: Principal, form: TokenForm, revoke_error: tuple[str, str] = ("", "")
) -> HttpResponse:
    rows = ApiToken.objects.select_related("principal").order_by("-created_at", "prefix")
    listed = _page(request, rows)
    context = {
        "tokens": listed.object_list,
        "listed": listed,
        "form": form,
        "can_change": _can_change(me),
        "revoke_prefix": revoke_error[0],
        "revoke_error": revoke_error[1],
        "page": "tokens",
    }
    return render_page(request, me, "portal/admin_tokens.html", SECTION, context)


@require_POST
@administration
def token_create(request: HttpRequest, me: Principal) -> HttpResponse:
    """Issue a token and show its secret in this one response, never again: it is neither
    stored (only its hash is) nor put in the session or a message, and the page is not cached.
    """
    form = TokenForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row, secret = accounts.issue_token(
                principal=_principal(data["service"]),
                name=data["name"],
                scopes=data["scopes"],
                days=data["days"],
                by=me,
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            context = {"token": row, "secret": secret, "can_change": True, "page": "tokens"}
            response = render_page(request, me, "portal/admin_token_created.html", SECTION, context)
            add_never_cache_headers(response)
            return response
    return _tokens_page(request, me, form)


@require_POST
@administration
def token_revoke(request: HttpRequest, me: Principal, prefix: str) -> HttpResponse:
    token = ApiToken.objects.select_related("principal").filter(prefix=prefix).first()
    if token is None:
        raise Http404("no such token")
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            accounts.revoke_token(token=token, reason=form.cleaned_data["reason"], by=me)
        except DomainError as error:
            return _tokens_page(request, me, TokenForm(), (prefix, str(error)))
        seq = _last_seq(token.principal_id, "token.revoked", me)
        messages.success(
            request, f"Token {prefix} ({token.name}) was revoked: ledger entry #{seq}."
        )
        return redirect("portal:admin-tokens")
    reason = " ".join(str(error) for errors in form.errors.values() for error in errors)
    return _tokens_page(request, me, TokenForm(), (prefix, reason))


# --- Risk-tier policies --------------------------------------------------------------------------


@administration
def policies(request: HttpRequest, me: Principal) -> HttpResponse:
    return _policies_page(request, me, {})


def _policies_page(
    request: HttpRequest, me: Principal, bound: dict[str, PolicyForm]
) -> HttpResponse:
    current = {policy.risk_tier: policy for policy in Policy.objects.all()}
    history = defaultdict(list)
    subjects = [f"policy:{tier}" for tier in RiskTier]
    for entry in Entry.objects.filter(subject__in=subjects).order_by("-seq")[:HISTORY_LIMIT]:
        history[entry.subject.removeprefix("policy:")].append(
            {"entry": entry, "summary": _summary(entry.payload)}
        )
    tiers = []
    for tier in RiskTier:
        policy = current.get(tier.value)
        form = bound.get(tier.value) or PolicyForm(
            prefix=tier.value, rows=_rows_for(policy), initial=_policy_initial(policy)
        )
        tiers.append(
            {
                "tier": tier.value,
                "policy": policy,
                "summary": _summary(_as_payload(policy)) if policy else "",
                "form": form,
                "tables": [(d, form.table(d)) for d in DECISIONS],
                "history": history[tier.value],
            }
        )
    context = {"tiers": tiers, "can_change": _can_change(me), "page": "policies"}
    return render_page(request, me, "portal/admin_policies.html", SECTION, context)


def _as_payload(policy: Policy) -> dict[str, Any]:
    return {
        "approval": policy.approval,
        "authorization": policy.authorization,
        "review_months": policy.review_months,
    }


def _summary(payload: dict[str, Any]) -> dict[str, str]:
    """A policy in words: what each decision needs and how often it is reviewed."""

    def needs(items: list[dict[str, Any]]) -> str:
        return rules.policy_words(stored_requirements(items))

    return {
        "approval": needs(payload.get("approval", [])),
        "authorization": needs(payload.get("authorization", [])),
        "review": f"every {payload.get('review_months')} months",
    }


@require_POST
@administration
def policy_set(request: HttpRequest, me: Principal, tier: str) -> HttpResponse:
    if tier not in {t.value for t in RiskTier}:
        raise Http404("no such risk tier")
    before = Policy.objects.filter(risk_tier=tier).first()
    form = PolicyForm(request.POST, prefix=tier, rows=_policy_rows_posted(request, tier))
    if form.is_valid():
        try:
            policy = tier_policies.set_policy(
                risk_tier=RiskTier(tier),
                approval=form.requirements("approval"),
                authorization=form.requirements("authorization"),
                review_months=form.cleaned_data["review_months"],
                by=me,
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            if before is not None and before.set_seq == policy.set_seq:
                messages.info(request, f"The {tier} tier's policy is unchanged: nothing recorded.")
            else:
                messages.success(
                    request, f"The {tier} tier's policy was set: ledger entry #{policy.set_seq}."
                )
            return redirect("portal:admin-policies")
    return _policies_page(request, me, {tier: form})


def _policy_rows_posted(request: HttpRequest, tier: str) -> int:
    """How many requirement rows the form carried (a row is counted by its role field)."""
    counts = []
    for decision in DECISIONS:
        rows = 0
        while f"{tier}-{decision}_{rows}_role" in request.POST and rows < MAX_ROWS:
            rows += 1
        counts.append(rows)
    return max(*counts, SPARE_ROWS)


@administration
def index(request: HttpRequest, me: Principal) -> HttpResponse:
    return redirect("portal:admin-users")
