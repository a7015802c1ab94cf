"""Every path of the portal, in one place. Views live in `portal/views/`, a module a page."""

from django.contrib.auth.views import LoginView, LogoutView
from django.urls import URLPattern, path

from portal.forms import SignInForm
from portal.views import (
    administration,
    dashboard,
    inventory,
    ledger,
    reports,
    signoff,
    usecases,
    versions,
)

app_name = "portal"

urlpatterns: list[URLPattern] = [
    path("", dashboard.home, name="home"),
    # Models and versions
    path("models", inventory.models, name="models"),
    path("models/<slug:slug>", versions.model, name="model"),
    path("models/<slug:slug>/versions/<int:number>", versions.version, name="version"),
    # Sign-off
    path("models/<slug:slug>/versions/<int:number>/sign", signoff.sign, name="sign"),
    path("signoffs", signoff.inbox, name="signoffs"),
    # The ledger and lineage
    path("ledger", ledger.entries, name="ledger"),
    path("ledger/entries/<int:seq>", ledger.entry, name="ledger-entry"),
    path("ledger/verifications", ledger.verify, name="ledger-verify"),
    path("ledger/export", ledger.export, name="ledger-export"),
    path("lineage/<path:subject>", ledger.lineage_node, name="lineage-node"),
    # Use cases, authorizations, point in time
    path("usecases", usecases.use_cases, name="usecases"),
    path("usecases/new", usecases.define, name="usecase-new"),
    path("usecases/<slug:slug>", usecases.use_case, name="usecase"),
    path("usecases/<slug:slug>/authorize", usecases.propose, name="usecase-authorize"),
    path("usecases/<slug:slug>/rollback", usecases.roll_back, name="usecase-rollback"),
    path(
        "usecases/<slug:slug>/authorizations/<int:number>/sign",
        signoff.sign_authorization,
        name="authorization-sign",
    ),
    path("asof", usecases.as_of, name="asof"),
    # Reports
    path("reports", reports.report_list, name="reports"),
    path("reports/new", reports.report_new, name="report-new"),
    path("reports/verify", reports.report_verify, name="report-verify"),
    path("reports/<uuid:report_id>", reports.report_detail, name="report"),
    path("reports/<uuid:report_id>/status", reports.report_status, name="report-status"),
    path("reports/<uuid:report_id>/pdf", reports.report_pdf, name="report-pdf"),
    # Administration
    path("administration", administration.index, name="administration"),
    path("administration/users", administration.users, name="admin-users"),
    path(
        "administration/users/enroll-person",
        administration.enroll_person,
        name="admin-enroll-person",
    ),
    path(
        "administration/users/enroll-service",
        administration.enroll_service,
        name="admin-enroll-service",
    ),
    path(
        "administration/principals/<str:actor_id>",
        administration.principal,
        name="admin-principal",
    ),
    path(
        "administration/principals/<str:actor_id>/roles",
        administration.principal_role,
        name="admin-principal-role",
    ),
    path(
        "administration/principals/<str:actor_id>/active",
        administration.principal_active,
        name="admin-principal-active",
    ),
    path("administration/tokens", administration.tokens, name="admin-tokens"),
    path("administration/tokens/create", administration.token_create, name="admin-token-create"),
    path(
        "administration/tokens/<str:prefix>/revoke",
        administration.token_revoke,
        name="admin-token-revoke",
    ),
    path("administration/policies", administration.policies, name="admin-policies"),
    path(
        "administration/policies/<str:tier>",
        administration.policy_set,
        name="admin-policy-set",
    ),
    # Signing in and out
    path(
        "login",
        LoginView.as_view(
            template_name="portal/login.html",
            authentication_form=SignInForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only (a link cannot sign anyone out).
    path("logout", LogoutView.as_view(), name="logout"),
]
