"""Open every RFP whose submission cut-off has passed (the scheduled task calls the same)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from proposals import services


class Command(BaseCommand):
    help = "Open sealed RFPs whose deadline (plus grace) has passed; an audit event each."

    def handle(self, *args, **options):
        opened = services.open_due_rfps(now=timezone.now())
        for rfp in opened:
            self.stdout.write(f"Opened {rfp.slug}")
        if not opened:
            self.stdout.write("Nothing to open.")
