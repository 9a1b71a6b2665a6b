"""The REST API's filters on videos, and on a video's or a camera's sightings and label stretches."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, QuerySet

from recognition.api.filters import FlagFilter, UtcDateTimeFilter
from videos.labels import holding, stretches_of
from videos.models import Sighting, Video, VideoLabel, VideoLabelSegment


class VideoFilter(django_filters.FilterSet):
    collection = django_filters.CharFilter(
        field_name="collection__name",
        help_text="Videos searched against this collection (its name, as videos show it).",
    )
    label = django_filters.CharFilter(
        method="label_found", help_text="Videos a label (or moderation label) of this name was found in, any case."
    )
    text = django_filters.CharFilter(
        method="text_found",
        help_text="Videos with a line of text that holds this, any case and whatever its spaces: a plate, a word.",
    )

    class Meta:
        model = Video
        fields = ["status"]

    def label_found(self, videos: QuerySet[Video], name: str, value: str) -> QuerySet[Video]:
        kinds = [VideoLabel.Kind.LABEL, VideoLabel.Kind.MODERATION]
        return videos.filter(Exists(stretches_of(name__iexact=value, kind__in=kinds)))

    def text_found(self, videos: QuerySet[Video], name: str, value: str) -> QuerySet[Video]:
        return videos.filter(Exists(holding(stretches_of(kind=VideoLabel.Kind.TEXT), value)))


class PersonSeenFilter(django_filters.FilterSet):
    """Sightings of someone, or of enrolled people (or never)."""

    person = django_filters.UUIDFilter(field_name="person", help_text="Sightings of this person.")
    identified = FlagFilter(
        field_name="person", lookup_expr="isnull", exclude=True, help_text="Only (or never) enrolled people."
    )

    class Meta:
        model = Sighting
        fields: list[str] = []


class CameraSightingFilter(PersonSeenFilter):
    seen_after = UtcDateTimeFilter(field_name="seen_at", lookup_expr="gte", help_text="First seen at or after.")
    seen_before = UtcDateTimeFilter(field_name="seen_at", lookup_expr="lt", help_text="First seen before.")


class VideoSightingFilter(PersonSeenFilter):
    from_seconds = django_filters.NumberFilter(
        field_name="last_at", lookup_expr="gte", help_text="In view at this many seconds from the start, or later."
    )
    to_seconds = django_filters.NumberFilter(
        field_name="first_at", lookup_expr="lte", help_text="In view at this many seconds from the start, or earlier."
    )


class LabelSegmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=VideoLabel.Kind.choices, help_text="label, moderation, or text.")
    name = django_filters.CharFilter(lookup_expr="iexact", help_text="Stretches of this label (Dog, Car…), any case.")
    name_contains = django_filters.CharFilter(
        method="name_holding",
        help_text="Stretches whose name (or, for a line of text, another reading of it) holds this, any case and "
        "whatever its spaces: the lines of text with a plate or a word in them.",
    )  # fmt: skip
    from_seconds = django_filters.NumberFilter(
        field_name="end", lookup_expr="gte", help_text="Found at this many seconds from the start, or later."
    )
    to_seconds = django_filters.NumberFilter(
        field_name="start", lookup_expr="lte", help_text="Found at this many seconds from the start, or earlier."
    )

    class Meta:
        model = VideoLabelSegment
        fields: list[str] = []

    def name_holding(
        self, stretches: QuerySet[VideoLabelSegment], name: str, value: str
    ) -> QuerySet[VideoLabelSegment]:
        return holding(stretches, value)
