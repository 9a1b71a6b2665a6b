"""Collections in the back office, with their threshold calibration: error rates of every threshold on the
operator's own labelled pairs, the picture, and the audited action that sets a collection's threshold."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recognition.admin.common import DeletedOneByOne
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError
from recognition.models import Collection
from recognition.services.calibration import (
    CALIBRATE,
    SOURCES,
    calibration_picture,
    calibration_report,
    collection_threshold_set,
)
from recognition.services.collections import collection_create
from recognition.services.erasure import collection_delete, collection_deletion_plan


@admin.register(Collection)
class CollectionAdmin(DeletedOneByOne, admin.ModelAdmin):
    list_display = ["name", "description", "reference_faces", "threshold", "watched", "version", "created_at"]
    # The search indexes' bookkeeping, and the threshold, which is set through the calibration page (it shows
    # what a threshold costs and audits the change).
    readonly_fields = ["version", "changes_pruned_through", "match_threshold"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return super().get_queryset(request).annotate(faces_count=Count("reference_faces"))

    @admin.display(description="Reference faces", ordering="faces_count")
    def reference_faces(self, collection: Any) -> int:
        return collection.faces_count

    @admin.display(description="Match threshold", ordering="match_threshold")
    def threshold(self, collection: Collection) -> SafeString:
        url = reverse("admin:recognition_collection_calibration") + f"?collection={collection.pk}"
        source = "set here" if collection.match_threshold is not None else "setting"
        # format_html escapes its arguments into strings first, so the number is formatted before it.
        return format_html('<a href="{}">{}</a> ({})', url, f"{collection.identify_threshold:g}", source)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """The confirmation page says what deleting removes, or what is filed under the collection and keeps
        it, as ``collection_delete`` decides; not Django's raw cascade, which would list every image."""
        lines: list[str] = []
        counts = {"collections": 0, "reference faces": 0, "reference photos": 0}
        in_use: list[str] = []
        for collection in objs:
            plan = collection_deletion_plan(collection=collection)
            if plan.in_use:
                in_use.append(f"{collection.name}: still used by {', '.join(plan.in_use)}")
                continue
            lines.append(
                f"{collection.name}: {plan.reference_faces} reference face(s) with their embeddings, the "
                f"{plan.photos} photo(s) kept for them, and the collection in the recognition engine."
            )
            counts["collections"] += 1
            counts["reference faces"] += plan.reference_faces
            counts["reference photos"] += plan.photos
        perms_needed = set() if in_use else super().get_deleted_objects(objs, request)[2]
        return lines, {k: v for k, v in counts.items() if v}, perms_needed, in_use

    def save_model(self, request: HttpRequest, obj: Collection, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = collection_create(name=obj.name, description=obj.description, watched=obj.watched,
                                    actor=request.user, client_ip=request_ip(request))  # fmt: skip
        obj.pk, obj.created_at = created.pk, created.created_at

    def delete_model(self, request: HttpRequest, obj: Collection) -> None:
        collection_delete(collection=obj, actor=request.user, client_ip=request_ip(request))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("calibration/", view(self.calibration_view), name="recognition_collection_calibration"),
            path("calibration/picture.svg", view(self.picture_view), name="recognition_collection_calibration_svg"),
            path("<int:pk>/threshold/", view(self.threshold_view), name="recognition_collection_threshold"),
            *super().get_urls(),
        ]

    def calibration_view(self, request: HttpRequest) -> TemplateResponse:
        collection, target = self._calibration_request(request)
        report = calibration_report(collection=collection, target_fmr=target)
        download = reverse("admin:recognition_collection_calibration_svg") + "?" + request.GET.urlencode()
        # The picture comes in the page, drawn from this report: a separate request would compute it again.
        svg = calibration_picture(report) if report.calibration.genuine and report.calibration.impostor else ""
        picture = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() if svg else ""
        context = {
            **self.admin_site.each_context(request),
            "title": f"Threshold calibration: {report.title}",
            "opts": self.model._meta,
            "report": report,
            "calibration": report.calibration,
            "sources": [(s, len(report.scores.genuine[s]), len(report.scores.impostor[s])) for s in SOURCES],
            "collections": Collection.objects.all(),
            "chosen": collection,
            "target_percent": report.calibration.target_fmr * 100,
            "picture_data": picture,
            "picture_url": download,
            "setting_threshold": settings.FACESITE_MATCH_THRESHOLD,
        }
        return TemplateResponse(request, "recognition/admin/calibration.html", context)

    def picture_view(self, request: HttpRequest) -> HttpResponse:
        collection, target = self._calibration_request(request)
        svg = calibration_picture(calibration_report(collection=collection, target_fmr=target))
        return HttpResponse(svg, content_type="image/svg+xml")

    def threshold_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        collection = get_object_or_404(Collection, pk=pk)
        if request.method != "POST" or not request.user.has_perm(CALIBRATE):
            raise PermissionDenied
        raw = request.POST.get("threshold", "").strip()
        try:
            threshold = None if request.POST.get("reset") else float(raw)
            collection_threshold_set(
                collection=collection, threshold=threshold, actor=request.user, client_ip=request_ip(request)
            )
        except ValueError:
            self.message_user(request, f"{raw!r} is not a number: give a similarity from 0 to 100.", messages.ERROR)
        except FacesiteError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request,
                f"Faces in {collection.name}'s images are identified from {collection.identify_threshold:g} on, in "
                "analyses from now on; faces already identified keep their result.",
                messages.SUCCESS,
            )
        return redirect(reverse("admin:recognition_collection_calibration") + f"?collection={collection.pk}")

    def _calibration_request(self, request: HttpRequest) -> tuple[Collection | None, float | None]:
        if not request.user.has_perm(CALIBRATE):
            raise PermissionDenied
        chosen = request.GET.get("collection")
        collection = get_object_or_404(Collection, pk=chosen) if chosen and chosen.isdigit() else None
        try:
            percent = float(request.GET["target"]) if request.GET.get("target") else None
        except ValueError:
            percent = None
        target = percent / 100 if percent is not None and 0 < percent < 50 else None
        return collection, target
