from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from rekognition_api.views import rekognition

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("recognition.api.urls")),
    path("api/", include("integrations.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Rekognition-compatible: botocore POSTs to the endpoint URL's path as given, without a trailing slash.
    path("rekognition", rekognition, name="rekognition"),
    path("rekognition/", rekognition),
]
