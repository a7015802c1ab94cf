"""The approvals inbox and the sign page: what is signed, its hash, and why a refusal."""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from auditreg.errors import DomainError
from auditreg.registry import services
from auditreg.registry.domain import Meaning, Role, sha256_of
from auditreg.registry.models import ModelVersion, Principal
from portal import dashboard
from portal.access import reader_required
from portal.views import render_page

# The meanings each role may give a version in validation, in the order offered.
MEANINGS = {
    Role.VALIDATOR: [Meaning.VALIDATED, Meaning.REJECTED],
    Role.APPROVER: [Meaning.APPROVED, Meaning.REJECTED],
    Role.MODEL_RISK_COMMITTEE: [Meaning.APPROVED, Meaning.REJECTED],
}

IN_WORDS = {
    Meaning.VALIDATED.value: "I have validated this version: fit for its intended purpose.",
    Meaning.APPROVED.value: "I approve this version for use.",
    Meaning.REJECTED.value: "I reject this version; it goes back to development.",
}

HINTS = {
    "separation of duties": "Separation of duties: whoever registered, developed or already "
    "signed this decision cannot sign it too; someone independent must.",
    "needs the role": "Wrong role: you do not hold the role this signature is given in.",
    "password is not correct": "Wrong password: re-enter your own password; being signed in "
    "is not enough to sign.",
    "content you were shown": "Content changed since shown: the record changed after the page "
    "was shown. Read it again as it stands below before signing.",
}


@dataclass(frozen=True)
class Choice:
    meaning: str
    role: str
    url: str


def sign_url(slug: str, number: int, meaning: str, role: str) -> str:
    path = reverse("portal:sign", args=[slug, number])
    return f"{path}?{urlencode({'meaning': meaning, 'role': role})}"


def choices(me: Principal, slug: str, number: int) -> list[Choice]:
    """The meanings and roles this person's roles allow on a version in validation."""
    return [
        Choice(meaning.value, role.value, sign_url(slug, number, meaning, role))
        for role, meanings in MEANINGS.items()
        if role.value in me.roles()
        for meaning in meanings
    ]


def explain(reason: str) -> str:
    return next((hint for key, hint in HINTS.items() if key in reason), "")


@reader_required
def inbox(request: HttpRequest, me: Principal) -> HttpResponse:
    items = []
    for waiting in dashboard.build(me).sign_offs:
        slug, number = waiting.subject.removeprefix("model:").split("/")
        items.append({"item": waiting, "choices": choices(me, slug, int(number))})
    return render_page(request, me, "portal/signoffs.html", "signoffs", {"items": items})


@reader_required
def sign(request: HttpRequest, me: Principal, slug: str, number: int) -> HttpResponse:
    version = (
        ModelVersion.objects.select_related("model").filter(model__slug=slug, number=number).first()
    )
    if version is None:
        raise Http404("no such version")
    source = request.POST if request.method == "POST" else request.GET
    meaning, role = source.get("meaning", ""), source.get("role", "")
    refusal = ""
    if request.method == "POST":
        try:
            services.sign(
                record=version,
                meaning=meaning,  # type: ignore[arg-type]
                role=role,  # type: ignore[arg-type]
                password=request.POST.get("password", ""),
                comment=request.POST.get("comment", ""),
                content_sha256=request.POST.get("content_sha256", ""),
                by=me,
            )
        except DomainError as error:
            refusal = str(error)
        else:
            messages.success(request, f"Your signature ({meaning} as {role}) was recorded.")
            return redirect("portal:version", slug=slug, number=number)
    return _page(request, me, version, meaning, role, refusal)


def _page(
    request: HttpRequest,
    me: Principal,
    version: ModelVersion,
    meaning: str,
    role: str,
    refusal: str,
) -> HttpResponse:
    context = {
        "version": version,
        "meaning": meaning,
        "role": role,
        "in_words": IN_WORDS.get(meaning, ""),
        "refusal": refusal,
        "hint": explain(refusal),
        "comment": request.POST.get("comment", ""),
        "choices": choices(me, version.model.slug, version.number),
    }
    try:
        content = services.content_to_sign(
            record=version,
            meaning=meaning,  # type: ignore[arg-type]
            role=role,  # type: ignore[arg-type]
        )
    except DomainError as error:
        context["unsignable"] = str(error)
    else:
        context["content"] = json.dumps(content, indent=2, sort_keys=True)
        context["content_sha256"] = sha256_of(content)
    return render_page(request, me, "portal/sign.html", "signoffs", context)
