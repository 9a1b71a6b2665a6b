from django.contrib import admin

from recognition.models import Collection, Face, Image, Label, Person


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "consent_given_at", "created_at"]
    search_fields = ["name", "external_id"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "created_at"]
    readonly_fields = ["version"]


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0
    can_delete = False
    fields = readonly_fields = ["name", "confidence", "parents"]


class FaceInline(admin.TabularInline):
    model = Face
    fk_name = "image"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["confidence", "person", "candidate", "similarity", "review_state"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "original_filename", "status", "source", "collection", "created_at"]
    list_filter = ["status", "source", "collection"]
    list_select_related = ["collection"]
    search_fields = ["sha256", "original_filename"]
    readonly_fields = [f.name for f in Image._meta.fields]
    inlines = [LabelInline, FaceInline]

    def has_add_permission(self, request):
        return False
