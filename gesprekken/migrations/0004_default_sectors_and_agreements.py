"""The starting lists of sectors and conversation agreements; coordinators edit them after."""

from django.db import migrations

SECTORS = [
    ("Zorg en welzijn", "Care and welfare"),
    ("Horeca", "Hospitality"),
    ("Onderwijs", "Education"),
    ("Cultuur", "Culture"),
    ("Detailhandel", "Retail"),
    ("Ondernemer", "Business owner"),
    ("Bouw, techniek en logistiek", "Construction, technology and logistics"),
    ("Overheid", "Government"),
    ("Student", "Student"),
    ("Gepensioneerd", "Retired"),
    ("Anders", "Other"),
]

AGREEMENTS = [
    (
        "We luisteren om te begrijpen, niet om te winnen.",
        "We listen to understand, not to win.",
    ),
    (
        "Ik spreek voor mezelf: ik zeg wat ik denk en meemaak, niet wat 'iedereen' vindt.",
        "I speak for myself: what I think and experience, not what 'everyone' thinks.",
    ),
    (
        "We zijn respectvol: je mag het oneens zijn met een mening, niet met een mens.",
        "We are respectful: you may disagree with an opinion, not with a person.",
    ),
    (
        "Wat hier persoonlijk gedeeld wordt, blijft hier.",
        "What is shared personally here, stays here.",
    ),
]


def add(apps, schema_editor):
    Sector = apps.get_model("gesprekken", "Sector")
    Gespreksafspraak = apps.get_model("gesprekken", "Gespreksafspraak")
    for order, (text, text_en) in enumerate(SECTORS):
        Sector.objects.get_or_create(text=text, defaults={"text_en": text_en, "order": order})
    for order, (text, text_en) in enumerate(AGREEMENTS):
        Gespreksafspraak.objects.get_or_create(
            text=text, defaults={"text_en": text_en, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("gesprekken", "0003_dialoog")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
