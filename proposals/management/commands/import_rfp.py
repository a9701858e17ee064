"""Create a draft RFP from a TOML file: manage.py import_rfp FILE."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from proposals import rfp_files


class Command(BaseCommand):
    help = "Create a draft RFP from a TOML file in the format of the demo data."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}.") from exc
        try:
            rfp = rfp_files.import_rfp(content, now=timezone.now())
        except rfp_files.RFPFileError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        self.stdout.write(f"Created the draft RFP {rfp.slug!r} ({rfp.title}).")
