from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from facesite import health, metrics
from facesite.api_docs import SignInFirstSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("kiosk/", include("kiosk.urls")),
    path("api/", include("recognition.api.urls")),
    path("api/", include("integrations.api")),
    path("api/", include("videos.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SignInFirstSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("rekognition_api.urls")),
]

handler404 = "facesite.errors.page_not_found"
handler500 = "facesite.errors.server_error"
