"""The back office's one model of its own: API tokens as the admin shows them."""

from __future__ import annotations

from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """DRF's token (its rows found by user, as DRF's own admin does), named by its user, not by its key (the
    key's hash, ``backoffice.tokens.stored_key``): a name shows up on confirmation pages and in the admin's
    log, where a key has no business."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user.get_username()}"
