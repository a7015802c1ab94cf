from django.contrib.auth.views import LoginView, LogoutView
from django.urls import URLPattern, path

from portal import administration, ledger_views, report_pages, signoff, usecases, views
from portal.forms import SignInForm

app_name = "portal"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("models", views.models, name="models"),
    path("models/<slug:slug>", views.model, name="model"),
    path("models/<slug:slug>/versions/<int:number>", views.version, name="version"),
    path("models/<slug:slug>/versions/<int:number>/sign", signoff.sign, name="sign"),
    path("signoffs", signoff.inbox, name="signoffs"),
    path("ledger", ledger_views.entries, name="ledger"),
    path("ledger/entries/<int:seq>", ledger_views.entry, name="ledger-entry"),
    *ledger_views.urls,
    *usecases.urls,
    *report_pages.urls,
    *administration.urls,
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
