"""The three roles, as Django groups with model permissions (created by a migration)."""

REVIEWER = "Reviewer"
OPERATOR = "Operator"
ADMINISTRATOR = "Administrator"
KIOSK = "Kiosk"

_READ = [
    "recognition.view_image",
    "recognition.view_face",
    "recognition.view_label",
    "recognition.view_textdetection",
    "recognition.view_moderationlabel",
    "recognition.view_person",
    "recognition.view_collection",
    "recognition.view_verification",
    "integrations.view_delivery",
    "integrations.view_deliveryattempt",
    "videos.view_video",
    "videos.view_sighting",
    "videos.view_camera",
]

ROLE_PERMISSIONS = {
    REVIEWER: [*_READ, "recognition.change_face", "recognition.view_faceforreview", "recognition.change_faceforreview"],
    OPERATOR: [
        *_READ,
        "recognition.change_face",
        "recognition.view_faceforreview",
        "recognition.change_faceforreview",
        "recognition.add_image",
        "videos.add_video",
        "recognition.add_person",
        "recognition.change_person",
        "recognition.enroll_person",
        "recognition.verify_person",
        "recognition.search_faces",
        "integrations.view_endpoint",
        "integrations.resend_delivery",
    ],
    # A door kiosk's account: badge checks at its page, nothing to read (kiosk.views shows only the accepted
    # person), and no API: /api/verify/ names a badge's holder even when the face does not match.
    KIOSK: ["kiosk.check_badges"],
    # Administrators get every permission of the apps except editing the audit trail.
    ADMINISTRATOR: [
        "recognition.*",
        "integrations.*",
        "rekognition_api.*",
        "kiosk.*",
        "videos.*",
        "-recognition.change_auditevent",
        "-recognition.delete_auditevent",
        "-recognition.add_auditevent",
    ],
}


def sync_roles(group_model=None, permission_model=None, *, strict: bool = True) -> None:
    """Create the role groups and give them exactly their permissions (idempotent).

    Migrations pass their historical models and ``strict=False``: an early migration
    runs this table before later migrations have created every permission it names,
    and a later migration syncs again. Code at run time calls it without arguments.
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        chosen: set[int] = set()
        for spec in specs:
            exclude = spec.startswith("-")
            app_label, codename = spec.lstrip("-").split(".")
            perms = permission_model.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                perms = perms.filter(codename=codename)
            ids = set(perms.values_list("pk", flat=True))
            if not ids and strict:
                raise RuntimeError(f"Permission {spec} does not exist")
            chosen = chosen - ids if exclude else chosen | ids
        group.permissions.set(chosen)


def sync_roles_migration(apps, schema_editor) -> None:
    """RunPython body for migrations that change roles: create missing permissions, then sync."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), strict=False)
