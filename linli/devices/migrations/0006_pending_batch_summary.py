from django.db import migrations, models


def store_uncompressed(apps, schema_editor):
    """PostgreSQL: the summary is written once and read once, a batch's worth of ids and times; compressing it costs
    more than storing it as it is."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE devices_pendingbatch ALTER COLUMN summary SET STORAGE EXTERNAL")


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0005_presence_device_without_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendingbatch",
            name="summary",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(store_uncompressed, migrations.RunPython.noop),
    ]
