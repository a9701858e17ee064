"""Write an RFP as TOML (the demo files' format): manage.py export_rfp SLUG [--output FILE]."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proposals import rfp_files
from proposals.models import RFP


class Command(BaseCommand):
    help = "Write an RFP as a TOML file in the format of the demo data (stdout by default)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, slug, output=None, **options):
        rfp = RFP.objects.filter(slug=slug).first()
        if rfp is None:
            raise CommandError(f"No RFP has the slug {slug!r}.")
        text = rfp_files.export_rfp(rfp)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")
