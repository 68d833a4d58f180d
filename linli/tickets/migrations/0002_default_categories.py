from django.db import migrations


def create_defaults(apps, schema_editor):
    from linli.tickets.defaults import DEFAULT_CATEGORIES

    Category = apps.get_model("tickets", "Category")
    for sort, (code, name, name_en, response, resolution, mode, org_kind, visit) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(place_path="", code=code, defaults={
            "name": name, "name_en": name_en, "response_minutes": response, "resolution_hours": resolution,
            "dispatch_mode": mode, "organisation_kind": org_kind, "return_visit": visit, "sort": sort,
        })


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
