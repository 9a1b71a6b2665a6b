from django.urls import path
from rest_framework.routers import DefaultRouter

from recognition.api.views import CollectionViewSet, CompareView, ImageViewSet, PersonViewSet, SearchView, VerifyView

router = DefaultRouter()
router.register("images", ImageViewSet, basename="image")
router.register("people", PersonViewSet, basename="person")
router.register("collections", CollectionViewSet, basename="collection")

urlpatterns = [
    path("search/", SearchView.as_view(), name="search"),
    path("verify/", VerifyView.as_view(), name="verify"),
    path("compare/", CompareView.as_view(), name="compare"),
    *router.urls,
]
