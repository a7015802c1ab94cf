from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("auditreg.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("portal.urls")),
]

handler404 = "auditreg.handlers.not_found"
handler500 = "auditreg.handlers.server_error"

if settings.AUDITREG_SERVE_STATIC:
    # Development and tests; in production a web server serves STATIC_ROOT.
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}, name="static"))
