"""Uploading images from the back office: several files at once (chosen or dropped), with the analyses
to run and the collection to identify against. Each file goes through the same service as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse

from recognition.audit import request_ip
from recognition.engines.base import FEATURES
from recognition.exceptions import FacesiteError
from recognition.models import Collection, Image
from recognition.services.ingest import image_upload

FEATURE_NAMES = {
    "labels": "Labels (things, scenes)",
    "faces": "Faces (and who they are)",
    "text": "Text",
    "moderation": "Moderation",
    "properties": "Quality and colours",
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f] or [super().clean(None)]


def accepted_files() -> str:
    """What the upload takes, as the person choosing files needs to know it (from the settings in force)."""
    formats = ", ".join(fmt for fmt in settings.FACESITE_ALLOWED_IMAGE_FORMATS if fmt != "MPO")
    size = filesizeformat(settings.FACESITE_MAX_UPLOAD_BYTES)
    megapixels = settings.FACESITE_MAX_IMAGE_PIXELS / 1_000_000
    return f"Choose several files, or drop them here: {formats}, each at most {size} and {megapixels:g} Mpx."


class UploadForm(forms.Form):
    images = MultipleFileField(label="Images")
    features = forms.MultipleChoiceField(
        choices=[(f, FEATURE_NAMES.get(f, f)) for f in FEATURES],
        initial=["labels", "faces", "moderation"],
        widget=forms.CheckboxSelectMultiple,
    )
    collection = forms.ModelChoiceField(queryset=Collection.objects.all(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["images"].help_text = accepted_files()


def upload_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    initial = {"collection": Collection.get_default()}
    form = UploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        created, refused = 0, []
        for upload in form.cleaned_data["images"]:
            try:
                image_upload(
                    data=upload.read(), filename=upload.name or "", uploaded_by=request.user,
                    features=list(form.cleaned_data["features"]), collection=form.cleaned_data["collection"],
                    client_ip=request_ip(request),
                )  # fmt: skip
                created += 1
            except FacesiteError as exc:
                refused.append(f"{upload.name}: {exc.message}")
        if created:
            model_admin.message_user(request, f"{created} image(s) uploaded; they are being analysed.")
        for reason in refused:
            model_admin.message_user(request, f"Not uploaded: {reason}", messages.ERROR)
        return redirect("admin:recognition_image_changelist")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Upload images",
        "form": form,
        "opts": Image._meta,
    }
    return TemplateResponse(request, "admin/facesite_upload.html", context)
