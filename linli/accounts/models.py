"""Users' roles on places, their link to a resident record, and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStamped
from linli.core.permissions import Role


class RoleAssignment(TimeStamped):
    """(user, role, place): the user acts in that role over the place's subtree. System admins have no place."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    on_duty = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "place"], condition=models.Q(active=True),
                                    name="role_assignment_unique_active"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.place_path or '/'}"


class Profile(TimeStamped):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="linli_profile")
    resident = models.OneToOneField("people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="account")
    display_name = models.CharField(max_length=60, blank=True)
    language = models.CharField(max_length=10, blank=True)


class ApiToken(TimeStamped):
    """A bearer token for API clients; only its SHA-256 is stored, the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
