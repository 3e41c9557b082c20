import datetime as dt

from django.db import migrations, models


def lock_dates_from_readings(apps, schema_editor):
    """Fills lock_date from each device's last reading; an unreadable date stays unknown."""
    Device = apps.get_model("devices", "Device")
    for device in Device.objects.exclude(monitoring=None).only("pk", "monitoring"):
        try:
            lock_date = dt.date.fromisoformat(str(device.monitoring.get("kpjzsj")))
        except (AttributeError, ValueError):
            continue
        Device.objects.filter(pk=device.pk).update(lock_date=lock_date)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0003_alter_agent_created_at_alter_device_created_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="device",
            name="lock_date",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="开票截止日期"),
        ),
        migrations.AddField(
            model_name="device",
            name="locked_reported",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="设备返回 248 / 0x09d109，直到新的读数表明已解锁",
                verbose_name="设备报告已锁死",
            ),
        ),
        migrations.RunPython(lock_dates_from_readings, migrations.RunPython.noop),
    ]
