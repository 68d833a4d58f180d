"""The place tree, grids and facilities."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import PlaceScoped, TimeStamped

from .choices import FacilityKind, PlaceKind, PlaceStatus


class Place(TimeStamped):
    """One node of district > street > community > estate > building > entrance > dwelling.

    ``path`` is the materialized path of ids (``/1/4/17/``); every scoped row copies it, and scope is a prefix test.
    """

    kind = models.CharField(max_length=16, choices=PlaceKind.choices, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=40, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=PlaceStatus.choices, default=PlaceStatus.ACTIVE, db_index=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from")
    longitude = models.FloatField(_("经度 (WGS-84)"), null=True, blank=True)
    latitude = models.FloatField(_("纬度 (WGS-84)"), null=True, blank=True)
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    year_built = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    dwelling_count = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    area_m2 = models.DecimalField(_("面积 (m²)"), max_digits=12, decimal_places=2, null=True, blank=True)
    sort_key = models.CharField(max_length=40, blank=True, editable=False, help_text="natural sort of the name")
    attrs = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("地点")
        verbose_name_plural = _("地点")
        ordering = ["sort_key", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], condition=models.Q(status="active"), name="place_unique_active_name_in_parent"
            ),
        ]
        indexes = [models.Index(fields=["parent", "kind"])]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]


class PlaceEvent(models.Model):
    """History of a place: merged, moved, renamed. Old parent and path are kept so old records stay explainable."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)  # merged_into, moved, renamed, created_by_merge
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    old_parent = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    new_parent = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    old_path = models.CharField(max_length=255, blank=True)
    new_path = models.CharField(max_length=255, blank=True)
    old_name = models.CharField(max_length=100, blank=True)
    new_name = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class Grid(PlaceScoped):
    """网格: a set of buildings of one community and the grid workers responsible for it."""

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=40, blank=True)
    buildings = models.ManyToManyField(Place, related_name="grids", blank=True)
    workers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="grids", blank=True)
    boundary = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["place_path", "name"]
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="grid_unique_name_in_community")]

    def __str__(self) -> str:
        return self.name


class Facility(PlaceScoped):
    """设施: a place that serves residents (kindergarten, clinic, elderly station, supermarket ...)."""

    kind = models.CharField(_("类型"), max_length=32, choices=FacilityKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=120)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    floor_area_m2 = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    land_area_m2 = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    opening_hours = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    operator = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    attrs = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("设施")
        verbose_name_plural = _("设施")
        ordering = ["place_path", "kind", "name"]

    def __str__(self) -> str:
        return self.name
