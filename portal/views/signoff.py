"""The approvals inbox and the sign pages of versions and authorizations: what is signed, its
hash, the policy requirement it fills, and why a refusal."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from auditreg.errors import DomainError
from auditreg.proofs.checks import sha256_of
from auditreg.registry import services
from auditreg.registry.domain import (
    AuthorizationStatus,
    Meaning,
    Role,
    Signed,
    Stage,
    stored_requirements,
)
from auditreg.registry.models import Authorization, ModelVersion, Principal
from portal import dashboard
from portal.access import reader_required
from portal.pages import render_page

P = ParamSpec("P")

# Not a signature meaning: asking the developers for changes is a recorded comment.
CHANGES = "changes_requested"

# The meanings each role may give a version in validation, in the order offered.
MEANINGS = {
    Role.VALIDATOR: [Meaning.VALIDATED, Meaning.REJECTED, CHANGES],
    Role.APPROVER: [Meaning.APPROVED, Meaning.REJECTED, CHANGES],
    Role.MODEL_RISK_COMMITTEE: [Meaning.APPROVED, Meaning.REJECTED, CHANGES],
}
# Who may revoke an authorization in force (the registry's rule).
REVOKERS = [Role.APPROVER, Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR]

# How a choice is named where it is offered (other meanings go by their own name).
ACTION_NAMES = {
    CHANGES: "request changes",
    Meaning.AUTHORED.value: "submit for validation (authored)",
    Meaning.REVIEWED.value: "clear the monitoring review (reviewed)",
}

IN_WORDS = {
    Meaning.AUTHORED.value: "I am an author of this version: I submit it, as recorded here, "
    "for independent validation.",
    Meaning.REVIEWED.value: "I have reviewed the monitoring breach on this version and it may "
    "stay in use.",
    Meaning.VALIDATED.value: "I have validated this version: fit for its intended purpose.",
    Meaning.APPROVED.value: "I approve this version for use.",
    Meaning.REJECTED.value: "I reject this version: its validation ends and it can only be "
    "retired; changes need a new version.",
    CHANGES: "I ask the developers to change this version before I sign. This is not a "
    "signature: it fills no policy requirement and the stage stays as it is.",
}
AUTHORIZATION_IN_WORDS = {
    Meaning.APPROVED.value: "I approve using this version for this use case, under these "
    "conditions, from the effective date to the expiry.",
    Meaning.REJECTED.value: "I reject this proposal; the version is not authorized for this use.",
    Meaning.REVOKED.value: "I revoke this authorization now: the version may no longer make "
    "decisions for this use case.",
}
# Refusals that must say why in the comment (the registry's rule), and requests for changes.
REASON_REQUIRED = {Meaning.REJECTED.value, Meaning.REVOKED.value, CHANGES}

# What the page adds to a refusal, by the rule's code (`DomainError.code`).
HINTS = {
    "separation_of_duties": "Separation of duties: whoever registered, developed, proposed or "
    "already signed this decision cannot sign it too; someone independent must.",
    "wrong_role": "Wrong role: you do not hold the role this signature is given in.",
    "not_in_policy": "Wrong role: the policy does not ask for this meaning from this role.",
    "wrong_password": "Wrong password: re-enter your own password; being signed in "
    "is not enough to sign.",
    "locked": "Locked: too many wrong passwords. Neither signing nor signing in works until "
    "the time shown; ask an administrator if it was not you.",
    "content_changed": "Content changed since shown: the record changed after the page "
    "was shown. Read it again as it stands below before signing.",
    "reason_required": "A reason is required: say why in the comment.",
}


@dataclass(frozen=True)
class Choice:
    meaning: str
    role: str
    url: str

    @property
    def label(self) -> str:
        role = self.role.replace("_", " ")
        return f"{ACTION_NAMES.get(self.meaning, self.meaning)} as {role}"


@dataclass
class SignPage:
    """What the sign page shows about the record being signed."""

    record: ModelVersion | Authorization
    title: str
    url: str
    status: str
    choices: list[Choice]
    in_words: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)


def read_only(me: Principal) -> bool:
    """Holds no role that changes anything (an auditor reads everything, changes nothing)."""
    return not me.roles() - {Role.AUDITOR.value}


def forbid(request: HttpRequest, me: Principal) -> HttpResponse:
    """The answer to a change asked by someone who may only read: 403, nothing recorded."""
    response = render_page(request, me, "portal/usecase_read_only.html", "", {})
    response.status_code = 403
    return response


def sign_in_again(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A sign form posted after the session timed out signs nothing: send the person to sign
    in, then back to the same sign page (meaning and role kept), told that nothing was signed.
    The password typed into the form is never carried over."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.method == "POST" and not request.user.is_authenticated:
            params = {
                "meaning": request.POST.get("meaning", "")[:40],
                "role": request.POST.get("role", "")[:40],
                "expired": "1",
            }
            messages.warning(
                request,
                "Your session had expired before your signature was sent: nothing was signed. "
                "Sign in again to return to the sign page.",
            )
            return redirect_to_login(f"{request.path}?{urlencode(params)}")
        return view(request, *args, **kwargs)

    return wrapper


# --- Versions ------------------------------------------------------------------------------------


def sign_url(slug: str, number: int, meaning: str, role: str) -> str:
    path = reverse("portal:sign", args=[slug, number])
    return f"{path}?{urlencode({'meaning': meaning, 'role': role})}"


def version_actions(me: Principal, version: ModelVersion) -> list[Choice]:
    """What this person's roles let them sign on a version as it stands: submit it for
    validation (a developer, while in development), validate, approve, reject or ask for
    changes (while in validation), clear a monitoring review (a validator)."""
    slug, number = version.model.slug, version.number
    roles = me.roles()
    found = []
    if version.stage == Stage.DEVELOPMENT and Role.DEVELOPER.value in roles:
        found.append(
            Choice(
                Meaning.AUTHORED.value,
                Role.DEVELOPER.value,
                sign_url(slug, number, Meaning.AUTHORED, Role.DEVELOPER),
            )
        )
    if version.stage == Stage.VALIDATION:
        found += choices(me, slug, number)
    if version.review_required and Role.VALIDATOR.value in roles:
        found.append(
            Choice(
                Meaning.REVIEWED.value,
                Role.VALIDATOR.value,
                sign_url(slug, number, Meaning.REVIEWED, Role.VALIDATOR),
            )
        )
    return found


def choices(me: Principal, slug: str, number: int) -> list[Choice]:
    """The meanings and roles this person's roles allow on a version in validation."""
    return [
        Choice(str(meaning), role.value, sign_url(slug, number, meaning, role))
        for role, meanings in MEANINGS.items()
        if role.value in me.roles()
        for meaning in meanings
    ]


@sign_in_again
@reader_required
def sign(request: HttpRequest, me: Principal, slug: str, number: int) -> HttpResponse:
    version = (
        ModelVersion.objects.select_related("model").filter(model__slug=slug, number=number).first()
    )
    if version is None:
        raise Http404("no such version")
    if request.method == "POST" and read_only(me):
        return forbid(request, me)
    requests = services.change_requests([version]).get(version.subject, [])
    page = SignPage(
        record=version,
        title=f"{version.model.name} version {version.number}",
        url=reverse("portal:version", args=[slug, number]),
        status=f"stage {version.stage}",
        choices=version_actions(me, version),
        in_words=IN_WORDS,
        extra={"change_requests": requests},
    )
    return _sign(request, me, page)


# --- Authorizations ------------------------------------------------------------------------------


def authorization_sign_url(auth: Authorization, meaning: str, role: str) -> str:
    path = reverse("portal:authorization-sign", args=[auth.use_case_id, auth.number])
    return f"{path}?{urlencode({'meaning': meaning, 'role': role})}"


def authorization_choices(me: Principal, auth: Authorization) -> list[Choice]:
    """Approve or reject a proposal in a role the tier's policy asks for; revoke one in force."""
    roles = me.roles()
    if auth.status == AuthorizationStatus.PROPOSED:
        policy = services.policy_for(auth.version.model)
        wanted = dict.fromkeys(r.role for r in stored_requirements(policy.authorization))
        pairs = [(m, r) for r in wanted for m in (Meaning.APPROVED, Meaning.REJECTED)]
    elif auth.status == AuthorizationStatus.ACTIVE:
        pairs = [(Meaning.REVOKED, r) for r in REVOKERS]
    else:
        pairs = []
    return [
        Choice(m.value, r.value, authorization_sign_url(auth, m, r))
        for m, r in pairs
        if r.value in roles
    ]


def find_authorization(slug: str, number: int) -> Authorization:
    auth = (
        Authorization.objects.select_related("version__model", "use_case", "fallback")
        .filter(use_case__slug=slug, number=number)
        .first()
    )
    if auth is None:
        raise Http404(f"use case {slug} has no authorization {number}")
    return auth


@sign_in_again
@reader_required
def sign_authorization(request: HttpRequest, me: Principal, slug: str, number: int) -> HttpResponse:
    auth = find_authorization(slug, number)
    if request.method == "POST" and read_only(me):
        return forbid(request, me)
    page = SignPage(
        record=auth,
        title=f"authorization {auth.number} of {auth.version_id} for {auth.use_case.title}",
        url=reverse("portal:usecase", args=[slug]),
        status=f"status {auth.status}",
        choices=authorization_choices(me, auth),
        in_words=AUTHORIZATION_IN_WORDS,
    )
    return _sign(request, me, page)


# --- The sign flow, shared -----------------------------------------------------------------------


def _sign(request: HttpRequest, me: Principal, page: SignPage) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    meaning, role = source.get("meaning", "")[:40], source.get("role", "")[:40]
    refusal, code = "", ""
    if request.method == "POST":
        try:
            if meaning == CHANGES and isinstance(page.record, ModelVersion):
                services.request_changes(
                    version=page.record,
                    role=role,  # type: ignore[arg-type]
                    comment=request.POST.get("comment", ""),
                    by=me,
                )
                done = f"Your request for changes (as {role}) was recorded; nothing was signed."
            else:
                services.sign(
                    record=page.record,
                    meaning=meaning,  # type: ignore[arg-type]
                    role=role,  # type: ignore[arg-type]
                    password=request.POST.get("password", ""),
                    comment=request.POST.get("comment", ""),
                    content_sha256=request.POST.get("content_sha256", ""),
                    by=me,
                )
                done = f"Your signature ({meaning} as {role}) was recorded."
        except DomainError as error:
            refusal, code = str(error), error.code
        else:
            messages.success(request, done)
            return redirect(page.url)
    return _page(request, me, page, meaning, role, refusal, code)


def _page(
    request: HttpRequest,
    me: Principal,
    page: SignPage,
    meaning: str,
    role: str,
    refusal: str,
    code: str = "",
) -> HttpResponse:
    context = {
        "page": page,
        "meaning": meaning,
        "role": role,
        "in_words": page.in_words.get(meaning, ""),
        "refusal": refusal,
        "hint": HINTS.get(code, ""),
        "comment": request.POST.get("comment", ""),
        "choices": page.choices,
        "reason_required": meaning in REASON_REQUIRED,
        "expired": request.method == "GET" and request.GET.get("expired") == "1",
        "is_request": meaning == CHANGES,
        **page.extra,
    }
    if meaning == CHANGES:
        if not isinstance(page.record, ModelVersion):
            context["unsignable"] = "changes are requested on a model version"
        return render_page(request, me, "portal/sign.html", "signoffs", context)
    try:
        content = services.content_to_sign(
            record=page.record,
            meaning=meaning,  # type: ignore[arg-type]
            role=role,  # type: ignore[arg-type]
        )
    except DomainError as error:
        context["unsignable"] = str(error)
    else:
        context["content"] = json.dumps(content, indent=2, sort_keys=True)
        context["content_sha256"] = sha256_of(content)
        context["fills"] = requirement_filled(page.record, meaning, role)
    return render_page(request, me, "portal/sign.html", "signoffs", context)


def requirement_filled(record: ModelVersion | Authorization, meaning: str, role: str) -> str:
    """In words, the policy requirement a signature with this meaning and role would fill."""
    if meaning == Meaning.REJECTED:
        if isinstance(record, ModelVersion):
            return (
                "A rejection fills no policy requirement: it ends validation at once and the "
                "version is rejected."
            )
        return "A rejection fills no policy requirement: it ends the proposal at once."
    if meaning == Meaning.REVOKED:
        return (
            "A revocation fills no policy requirement: any approver, committee member or "
            "administrator may end an authorization in force, with a reason."
        )
    if isinstance(record, ModelVersion):
        model, what = record.model, "approval"
        stored = services.policy_for(model).approval
        signed = services.as_signed(services.version_signatures(record))
    else:
        model, what = record.version.model, "authorization"
        stored = services.policy_for(model).authorization
        signed = services.as_signed(services.authorization_signatures(record))
    requirements = stored_requirements(stored)
    rule = "; ".join(f"{r.count} {r.meaning} by {r.role.replace('_', ' ')}" for r in requirements)
    policy = f"the {model.risk_tier}-tier policy's {what} rule ({rule})"
    wanted = next((r for r in requirements if r.role == role and r.meaning == meaning), None)
    if wanted is None:
        return f"This signature fills no requirement of {policy}."
    given = _given(signed, role, meaning)
    return (
        f"This signature would be {meaning} {min(given + 1, wanted.count)} of {wanted.count} "
        f"by {role.replace('_', ' ')} under {policy}."
    )


def _given(signed: list[Signed], role: str, meaning: str) -> int:
    return len({s.signer for s in signed if s.role == role and s.meaning == meaning})


# --- The inbox -----------------------------------------------------------------------------------


@reader_required
def inbox(request: HttpRequest, me: Principal) -> HttpResponse:
    board = dashboard.build(me)
    items = []
    for waiting in board.sign_offs:
        slug, number = waiting.subject.removeprefix("model:").split("/")
        items.append({"item": waiting, "choices": choices(me, slug, int(number))})
    proposals = {
        a.subject: a
        for a in Authorization.objects.select_related("version__model", "use_case").filter(
            subject__in=[w.subject for w in board.authorizations]
        )
    }
    authorizations = [
        {"item": waiting, "choices": authorization_choices(me, proposals[waiting.subject])}
        for waiting in board.authorizations
        if waiting.subject in proposals
    ]
    context = {"items": items, "authorizations": authorizations, "stage": Stage.VALIDATION}
    return render_page(request, me, "portal/signoffs.html", "signoffs", context)
