from django.urls import path
from rest_framework.routers import SimpleRouter

from recognition.api.audit import AuditEventViewSet
from recognition.api.checks import CompareView, SearchView, VerifyView
from recognition.api.exports import PersonExportViewSet
from recognition.api.images import ImageViewSet
from recognition.api.people import CollectionViewSet, PersonViewSet
from recognition.api.root import ApiRoot

router = SimpleRouter()
router.register("images", ImageViewSet, basename="image")
router.register("people", PersonViewSet, basename="person")
router.register("collections", CollectionViewSet, basename="collection")
router.register("exports", PersonExportViewSet, basename="person-export")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("", ApiRoot.as_view(), name="api-root"),
    path("search/", SearchView.as_view(), name="search"),
    path("verify/", VerifyView.as_view(), name="verify"),
    path("compare/", CompareView.as_view(), name="compare"),
    *router.urls,
]
