from django.db import migrations


def add_defaults(apps, schema_editor):
    from linli.alerts.defaults import DEFAULT_RULES

    Rule = apps.get_model("alerts", "Rule")
    for spec in DEFAULT_RULES:
        Rule.objects.get_or_create(place=None, place_path="", code=spec["code"],
                                   defaults={k: v for k, v in spec.items() if k != "code"})


def remove_defaults(apps, schema_editor):
    from linli.alerts.defaults import DEFAULT_RULES

    apps.get_model("alerts", "Rule").objects.filter(place_path="", code__in=[s["code"] for s in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]
