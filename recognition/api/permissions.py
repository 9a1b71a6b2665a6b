from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, reads included: viewing biometric data needs the view permission."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }


def require(*perms: str) -> type[BasePermission]:
    """A permission class granting access to authenticated users holding all of ``perms``."""

    class Required(BasePermission):
        message = f"You need the permission(s): {', '.join(perms)}."

        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    Required.__name__ = f"Require({', '.join(perms)})"
    return Required
