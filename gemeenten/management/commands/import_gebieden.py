from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gemeenten.download import download_gebieden
from gemeenten.importer import import_gebieden


class Command(BaseCommand):
    help = (
        "Import provincies, gemeenten, wijken, buurten and PC4 areas from the CBS/PDOK files "
        "in DIR (default: settings.GEBIEDEN_DIR). With --download, first fetch them from "
        "CBS and PDOK into DIR (default: var/gebieden/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", metavar="DIR")
        parser.add_argument(
            "--download",
            action="store_true",
            help="Fetch the files from the official CBS/PDOK services first (needs internet).",
        )

    def handle(self, *args, directory=None, download=False, verbosity=1, **options):
        source = ""
        if download:
            directory = Path(directory or settings.BASE_DIR / "var" / "gebieden")
            source = download_gebieden(directory, stdout=self.stdout, verbosity=verbosity)
        elif not directory:
            directory = getattr(settings, "GEBIEDEN_DIR", "")
            if not directory:
                raise CommandError(
                    "No directory given and settings.GEBIEDEN_DIR is not set: pass DIR, set "
                    "GEBIEDEN_DIR, or use --download."
                )
        import_gebieden(directory, stdout=self.stdout, verbosity=verbosity, source=source)
