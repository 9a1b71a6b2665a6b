"""The REST API's filters on videos, and on a video's or a camera's sightings and label stretches."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, QuerySet

from recognition.api.filters import FlagFilter, UtcDateTimeFilter
from videos.labels import holding, stretches_of
from videos.models import Sighting, Video, VideoLabel, VideoLabelSegment


def seconds_window(
    *, ends: str, starts: str, what: str
) -> tuple[django_filters.NumberFilter, django_filters.NumberFilter]:
    """``from_seconds`` and ``to_seconds``: rows whose time (``ends``, ``starts``: their fields) meets the window,
    each described as ``what`` at that time ("In view", "Found")."""
    return (
        django_filters.NumberFilter(field_name=ends, lookup_expr="gte",
                                    help_text=f"{what} at this many seconds from the start, or later."),
        django_filters.NumberFilter(field_name=starts, lookup_expr="lte",
                                    help_text=f"{what} at this many seconds from the start, or earlier."),
    )  # fmt: skip


def kind_filter() -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(choices=VideoLabel.Kind.choices, help_text="label, moderation, or text.")


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
    from_seconds, to_seconds = seconds_window(ends="last_at", starts="first_at", what="In view")


class LabelSegmentFilter(django_filters.FilterSet):
    kind = kind_filter()
    name = django_filters.CharFilter(lookup_expr="iexact", help_text="Stretches of this label (Dog, Car…), any case.")
    name_contains = django_filters.CharFilter(
        method="name_holding",
        help_text="Stretches whose name (or, for a line of text, another reading of it) holds this, any case and "
        "whatever its spaces: the lines of text with a plate or a word in them.",
    )  # fmt: skip
    from_seconds, to_seconds = seconds_window(ends="end", starts="start", what="Found")

    class Meta:
        model = VideoLabelSegment
        fields: list[str] = []

    def name_holding(
        self, stretches: QuerySet[VideoLabelSegment], name: str, value: str
    ) -> QuerySet[VideoLabelSegment]:
        return holding(stretches, value)


class FrameLabelFilter(django_filters.FilterSet):
    kind = kind_filter()
    name = django_filters.CharFilter(
        lookup_expr="iexact", help_text="Findings of this label (Dog, Car…) or line of text, any case."
    )
    from_seconds, to_seconds = seconds_window(ends="at", starts="at", what="In frames")

    class Meta:
        model = VideoLabel
        fields: list[str] = []
