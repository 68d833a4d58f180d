"""The shipped tree of special-group (特殊人群) tags. Communities may add their own afterwards."""

from django.db import migrations

TAGS = [
    # code, name, name_en, parent code, has_grade
    ("elderly", "老年人", "elderly (60+)", None, False),
    ("elderly_alone", "独居老人", "elderly living alone", "elderly", False),
    ("empty_nest", "空巢老人", "empty-nest elderly", "elderly", False),
    ("aged_80", "高龄老人", "aged 80+", "elderly", False),
    ("elderly_disabled", "失能半失能老人", "elderly needing care", "elderly", False),
    ("disabled", "残疾人", "disabled", None, True),
    ("low_income", "低保户", "minimum-income household", None, False),
    ("extreme_poverty", "特困人员", "extreme-poverty support", "low_income", False),
    ("veteran", "退役军人", "veteran", None, False),
    ("special_care", "优抚对象", "entitled group (优抚)", None, False),
    ("left_behind_child", "留守儿童", "left-behind child", None, False),
    ("party_member", "党员", "party member", None, False),
    ("serious_illness", "重病患者", "serious illness", None, False),
    ("community_correction", "社区矫正人员", "under community correction", None, False),
]


def forwards(apps, schema_editor):
    CareTag = apps.get_model("people", "CareTag")
    by_code = {}
    for sort, (code, name, name_en, parent, has_grade) in enumerate(TAGS):
        tag, _ = CareTag.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "parent": by_code.get(parent), "has_grade": has_grade, "sort": sort},
        )
        by_code[code] = tag


def backwards(apps, schema_editor):
    apps.get_model("people", "CareTag").objects.filter(code__in=[t[0] for t in TAGS]).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
