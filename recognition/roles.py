"""The three roles, as Django groups with model permissions (created by a migration)."""

REVIEWER = "Reviewer"
OPERATOR = "Operator"
ADMINISTRATOR = "Administrator"

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
]

ROLE_PERMISSIONS = {
    REVIEWER: [*_READ, "recognition.change_face"],
    OPERATOR: [
        *_READ,
        "recognition.change_face",
        "recognition.add_image",
        "recognition.add_person",
        "recognition.change_person",
        "recognition.enroll_person",
        "recognition.verify_person",
        "recognition.search_faces",
        "integrations.view_endpoint",
        "integrations.resend_delivery",
    ],
    # Administrators get every permission of both apps except editing the audit trail.
    ADMINISTRATOR: [
        "recognition.*",
        "integrations.*",
        "-recognition.change_auditevent",
        "-recognition.delete_auditevent",
        "-recognition.add_auditevent",
    ],
}
