from django.db import migrations


def lock_moves_to_the_devices(apps, schema_editor):
    """A period marked locked and never cleared: its client's devices had said so."""
    Period = apps.get_model("periods", "Period")
    Device = apps.get_model("devices", "Device")
    clients = Period.objects.filter(locked=True, cleared_at=None).values("client")
    Device.objects.filter(client__in=clients).update(locked_reported=True)


class Migration(migrations.Migration):
    dependencies = [
        ("periods", "0002_alter_period_created_at"),
        ("devices", "0004_device_lock_date_device_locked_reported"),
    ]

    operations = [
        migrations.RunPython(lock_moves_to_the_devices, migrations.RunPython.noop),
        migrations.RemoveField(model_name="period", name="locked"),
    ]
