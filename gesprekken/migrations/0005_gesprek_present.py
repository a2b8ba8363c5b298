"""Gesprek.present: the stored number of AANWEZIG registrations, filled from them."""

from django.db import migrations, models

# A correlated subquery: one UPDATE that PostgreSQL and SQLite both run. Only gesprekken
# someone came to are touched; the rest keep the column's default, 0.
FILL_SQL = """
    UPDATE gesprekken_gesprek SET present = (
        SELECT COUNT(*) FROM gesprekken_aanmelding a
        WHERE a.gesprek_id = gesprekken_gesprek.id AND a.status = 'aanwezig'
    )
    WHERE id IN (SELECT gesprek_id FROM gesprekken_aanmelding WHERE status = 'aanwezig')
"""


def fill_present(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("gesprekken", "0004_default_sectors_and_agreements"),
    ]

    operations = [
        migrations.AddField(
            model_name="gesprek",
            name="present",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill_present, migrations.RunPython.noop),
    ]
