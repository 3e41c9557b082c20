import datetime as dt

from django.db import migrations

REFERENCES = {2025: "国家税务总局2025年征期日历", 2026: "税总办征科函〔2025〕64号"}
# The tables as published (docs/domain.md), frozen here: a later change of the code must not
# rewrite what this migration loaded.
OFFICIAL_DAYS = {
    2025: (15, 20, 17, 18, 22, 16, 15, 15, 15, 27, 17, 15),
    2026: (20, 24, 16, 20, 22, 15, 15, 17, 15, 26, 16, 15),
}


def load(apps, schema_editor):
    FilingDeadline = apps.get_model("filing_calendar", "FilingDeadline")
    for year, days in OFFICIAL_DAYS.items():
        for month, day in enumerate(days, start=1):
            FilingDeadline.objects.update_or_create(
                month=dt.date(year, month, 1),
                defaults={"deadline": dt.date(year, month, day), "source": "official", "reference": REFERENCES[year]},
            )


def unload(apps, schema_editor):
    FilingDeadline = apps.get_model("filing_calendar", "FilingDeadline")
    FilingDeadline.objects.filter(source="official", month__year__in=(2025, 2026)).delete()


class Migration(migrations.Migration):
    dependencies = [("filing_calendar", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
