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
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.proofs.checks import sha256_of
from auditreg.registry import rules, selectors
from auditreg.registry.domain import Meaning, Stage
from auditreg.registry.models import Authorization, ModelVersion, Policy, Signature
from auditreg.registry.services import signatures
from portal import dashboard
from portal.access import reader_required
from portal.pages import render_page

P = ParamSpec("P")

# Not a signature meaning: asking the developers for changes is a recorded comment.
CHANGES = "changes_requested"
# The inbox's lists, each paged.
PAGE_SIZE = 50

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
        return f"{ACTION_NAMES.get(self.meaning, self.meaning)} as {rules.role_words(self.role)}"


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


def version_actions(
    me: Principal,
    version: ModelVersion,
    *,
    policies: dict[str, Policy] | None = None,
    counting: list[Signature] | None = None,
) -> list[Choice]:
    """What this person's roles let them do on a version as it stands: exactly the signatures
    the registry would accept from them (`selectors.offerable`), then requests for changes.
    `policies` and `counting` (the signatures counting on the version): when already read."""
    slug, number = version.model.slug, version.number
    roles = me.roles()
    offered = selectors.offerable(version, roles, policies=policies, signatures=counting)
    found = [Choice(m.value, r.value, sign_url(slug, number, m, r)) for m, r in offered]
    found += [
        Choice(CHANGES, r.value, sign_url(slug, number, CHANGES, r))
        for r in selectors.change_request_roles(version, roles)
    ]
    return found


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
    requests = selectors.change_requests([version]).get(version.subject, [])
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


def authorization_choices(
    me: Principal, auth: Authorization, *, policies: dict[str, Policy] | None = None
) -> list[Choice]:
    """The signatures the registry would accept from this person on the authorization as it
    stands: approve or reject a proposal, revoke one in force (`selectors.offerable`)."""
    offered = selectors.offerable(auth, me.roles(), policies=policies)
    return [Choice(m.value, r.value, authorization_sign_url(auth, m, r)) for m, r in offered]


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
                signatures.request_changes(
                    version=page.record,
                    role=role,  # type: ignore[arg-type]
                    comment=request.POST.get("comment", ""),
                    by=me,
                )
                done = f"Your request for changes (as {role}) was recorded; nothing was signed."
            else:
                signatures.sign(
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
        # A rejection or revocation says why; so does a request for changes.
        "reason_required": meaning in rules.NEEDS_COMMENT or meaning == CHANGES,
        "expired": request.method == "GET" and request.GET.get("expired") == "1",
        "is_request": meaning == CHANGES,
        **page.extra,
    }
    if meaning == CHANGES:
        if not isinstance(page.record, ModelVersion):
            context["unsignable"] = "changes are requested on a model version"
        return render_page(request, me, "portal/sign.html", "signoffs", context)
    try:
        content = signatures.content_to_sign(
            record=page.record,
            meaning=meaning,  # type: ignore[arg-type]
            role=role,  # type: ignore[arg-type]
        )
    except DomainError as error:
        context["unsignable"] = str(error)
    else:
        context["content"] = json.dumps(content, indent=2, sort_keys=True)
        context["content_sha256"] = sha256_of(content)
        context["fills"] = selectors.requirement_filled(page.record, meaning, role)
    return render_page(request, me, "portal/sign.html", "signoffs", context)


# --- The inbox -----------------------------------------------------------------------------------


@reader_required
def inbox(request: HttpRequest, me: Principal) -> HttpResponse:
    """The versions and the authorization proposals waiting for this person's signature, the
    longest waiting first, each list paged (`page`, `proposals`)."""
    queues = dashboard.Queues.read(me)
    versions = Paginator(queues.versions, PAGE_SIZE).get_page(request.GET.get("page"))
    proposals = Paginator(queues.proposals, PAGE_SIZE).get_page(request.GET.get("proposals"))
    items = [
        {
            "item": queues.row(version),
            "choices": version_actions(
                me,
                version,
                policies=queues.policies,
                counting=queues.signatures[version.subject],
            ),
        }
        for version in versions
    ]
    authorizations = [
        {
            "item": queues.row(auth),
            "choices": authorization_choices(me, auth, policies=queues.policies),
        }
        for auth in proposals
    ]
    context = {
        "items": items,
        "versions": versions,
        "versions_params": _without(request, "page"),
        "authorizations": authorizations,
        "proposals": proposals,
        "proposals_params": _without(request, "proposals"),
        "stage": Stage.VALIDATION,
    }
    return render_page(request, me, "portal/signoffs.html", "signoffs", context)


def _without(request: HttpRequest, name: str) -> str:
    """The query string without parameter `name`: the other list keeps its page."""
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()
