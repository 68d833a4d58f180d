"""Residents, where they live, their care tags and emergency contacts, and spreadsheet import jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.fields import EncryptedTextField
from linli.core.models import PlaceScoped, TimeStamped

from .choices import ImportStatus, Relation, ResidentStatus, Sex


class Resident(PlaceScoped):
    """A person. ``place`` is the home dwelling (or the community when the dwelling is unknown).

    ID number and phone are encrypted; ``id_hash``/``phone_hash`` (keyed HMAC) find and de-duplicate them;
    ``id_mask``/``phone_mask`` are what screens show.
    """

    name = models.CharField(_("姓名"), max_length=60, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    id_number = EncryptedTextField(_("身份证号"), blank=True, default="")
    id_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    id_mask = models.CharField(max_length=24, blank=True, editable=False)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True, editable=False)
    phone_mask = models.CharField(max_length=24, blank=True, editable=False)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE,
                              db_index=True)
    has_smartphone = models.BooleanField(_("使用智能手机"), default=True)
    source = models.CharField(max_length=40, blank=True, help_text="manual, import:<job id>, demo")

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["place_path", "name", "id"]
        indexes = [models.Index(fields=["status", "place_path"])]

    def __str__(self) -> str:
        return self.name


class Occupancy(PlaceScoped):
    """A resident living in (or owning) a dwelling from ``since`` until ``until`` (open while null)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="occupancies")
    relation = models.CharField(_("与户主关系"), max_length=10, choices=Relation.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("截止日期"), null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("居住关系")
        verbose_name_plural = _("居住关系")
        constraints = [
            models.UniqueConstraint(fields=["resident", "place", "relation"], condition=models.Q(until__isnull=True),
                                    name="occupancy_unique_open"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}@{self.place_id} {self.relation}"


class CareTag(models.Model):
    """特殊人群 tags, a tree (e.g. 老年人 > 独居老人)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=40)
    name_en = models.CharField(max_length=60)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    has_grade = models.BooleanField(default=False, help_text="carries a grade (disability 1-4)")
    sort = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("特殊人群标签")
        verbose_name_plural = _("特殊人群标签")

    def __str__(self) -> str:
        return self.name


class ResidentTag(TimeStamped):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tags")
    tag = models.ForeignKey(CareTag, on_delete=models.PROTECT, related_name="+")
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    attrs = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resident", "tag"], condition=models.Q(until__isnull=True),
                                    name="resident_tag_unique_open"),
        ]
        indexes = [models.Index(fields=["tag", "resident"])]


class EmergencyContact(TimeStamped):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(_("姓名"), max_length=60)
    relation = models.CharField(_("关系"), max_length=20, blank=True)
    phone = EncryptedTextField(_("电话"))
    phone_mask = models.CharField(max_length=24, blank=True, editable=False)
    contact_resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["priority", "id"]


class ImportJob(PlaceScoped):
    """An uploaded residents sheet: validated in the background, then kept (valid rows) or discarded."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.CharField(max_length=255, help_text="storage name of the uploaded file")
    original_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING, db_index=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    staged = models.CharField(max_length=255, blank=True, help_text="storage name of the validated rows")
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    @property
    def progress(self) -> int:
        if self.status in (ImportStatus.DONE, ImportStatus.VALIDATED, ImportStatus.DISCARDED):
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(help_text="row number as Excel shows it")
    column = models.CharField(max_length=40)
    code = models.CharField(max_length=40)
    message_zh = models.CharField(max_length=200)
    message_en = models.CharField(max_length=200)
    value = models.CharField(max_length=60, blank=True, help_text="the cell as written, masked when sensitive")

    class Meta:
        ordering = ["row", "id"]
