from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("recognition.api.urls")),
    path("api/", include("integrations.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
