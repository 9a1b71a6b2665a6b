from datetime import UTC

import django_filters
from django import forms

from recognition.api.common import flag
from recognition.models import AuditEvent, AuditEventQuerySet, Image, Person, PersonExport

AT_OR_AFTER = "Made at or after this time (ISO 8601)."
BEFORE = "Made before this time (ISO 8601)."


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 with any offset Python accepts; compared in UTC, since PostgreSQL refuses offsets beyond ±15:59."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value else value)


class FlagField(forms.Field):
    """A yes-or-no filter's value, as ``flag`` reads it; empty when not given. django-filter's own boolean
    filters take ``True``/``true``/``2`` and drop anything else unsaid, so ``?enrolled=yes`` listed everyone."""

    def to_python(self, value: str | None) -> bool | None:
        if not value:
            return None
        try:
            return flag(value)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None


class FlagFilter(django_filters.BooleanFilter):
    """A yes-or-no filter: ``true``, ``1``, ``yes`` or ``false``, ``0``, ``no``; anything else is a 400 naming it."""

    field_class = FlagField


class ImageFilter(django_filters.FilterSet):
    label = django_filters.CharFilter(field_name="labels__name", lookup_expr="iexact", distinct=True,
                                      help_text="Images with this label (case-insensitive).")  # fmt: skip
    person = django_filters.UUIDFilter(method="filter_person", help_text="Images in which this person was identified.")
    collection = django_filters.CharFilter(
        field_name="collection__name", help_text="Images of this collection (its name)."
    )
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text=AT_OR_AFTER)
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = Image
        fields = ["status", "source"]

    def filter_person(self, queryset, name, value):
        # One filter() call, so both conditions apply to the same face: sightings, not enrolment photos.
        return queryset.filter(faces__person=value, faces__is_reference=False).distinct()


class PersonFilter(django_filters.FilterSet):
    external_id = django_filters.CharFilter(help_text="The person with this badge, RFID or employee code.")
    enrolled = FlagFilter(method="filter_enrolled", help_text="Only people with (or without) a reference face.")

    class Meta:
        model = Person
        fields = ["external_id"]

    def filter_enrolled(self, queryset, name, value):
        return queryset.enrolled(value)


class PersonExportFilter(django_filters.FilterSet):
    person = django_filters.UUIDFilter(help_text="The exports of this person.")

    class Meta:
        model = PersonExport
        fields = ["person", "status"]


class AuditEventFilter(django_filters.FilterSet):
    """The audit trail, as the admin's filters cut it, and from an event on (``after``), for a SIEM to pull
    what is new since its last pull; and the reads counted again since a time (``repeated_after``), whose
    ``repeats`` a pull by id saw smaller."""

    after = django_filters.NumberFilter(field_name="id", lookup_expr="gt", help_text="Events after this id.")
    actor = django_filters.CharFilter(field_name="actor_name", help_text="Events of this user name.")
    kind = django_filters.ChoiceFilter(
        method="filter_kind", choices=list(AuditEventQuerySet.KINDS.items()),
        help_text="; ".join(f"{kind}: {label}" for kind, label in AuditEventQuerySet.KINDS.items()),
    )  # fmt: skip
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text=AT_OR_AFTER)
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text=BEFORE)
    object_type = django_filters.CharFilter(help_text="Events about this kind of thing: image, person, face, video…")
    object_id = django_filters.CharFilter(help_text="Events about this thing (its id; with object_type).")
    repeated_after = UtcDateTimeFilter(
        field_name="last_at", lookup_expr="gt", help_text="Reads counted again (repeats, last_at) after this time."
    )

    class Meta:
        model = AuditEvent
        fields = ["action"]

    def filter_kind(self, queryset, name, value):
        return queryset.of_kind(value)
