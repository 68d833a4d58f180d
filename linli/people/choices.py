from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "U", _("未知")


class Relation(models.TextChoices):
    OWNER = "owner", _("业主")
    HEAD = "head", _("户主")
    MEMBER = "member", _("家庭成员")
    TENANT = "tenant", _("租户")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    VALIDATING = "validating", _("校验中")
    VALIDATED = "validated", _("待确认")
    COMMITTING = "committing", _("导入中")
    DONE = "done", _("已完成")
    DISCARDED = "discarded", _("已放弃")
    FAILED = "failed", _("失败")


# Words staff write in the relation column, mapped to the stored relation.
RELATION_WORDS = {
    "业主": Relation.OWNER, "产权人": Relation.OWNER, "房主": Relation.OWNER, "owner": Relation.OWNER,
    "户主": Relation.HEAD, "本人": Relation.HEAD, "head": Relation.HEAD,
    "家庭成员": Relation.MEMBER, "成员": Relation.MEMBER, "配偶": Relation.MEMBER, "妻": Relation.MEMBER,
    "夫": Relation.MEMBER, "妻子": Relation.MEMBER, "丈夫": Relation.MEMBER, "子": Relation.MEMBER,
    "女": Relation.MEMBER, "儿子": Relation.MEMBER, "女儿": Relation.MEMBER, "父亲": Relation.MEMBER,
    "母亲": Relation.MEMBER, "父": Relation.MEMBER, "母": Relation.MEMBER, "孙子": Relation.MEMBER,
    "孙女": Relation.MEMBER, "儿媳": Relation.MEMBER, "女婿": Relation.MEMBER, "外孙": Relation.MEMBER,
    "外孙女": Relation.MEMBER, "兄弟": Relation.MEMBER, "姐妹": Relation.MEMBER, "其他": Relation.MEMBER,
    "member": Relation.MEMBER,
    "租户": Relation.TENANT, "租客": Relation.TENANT, "承租人": Relation.TENANT, "tenant": Relation.TENANT,
}
