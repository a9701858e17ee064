"""Send the deadline and review reminders that are due (beat runs the same every 5 minutes).

Here, not in proposals, because the sweep sends both: proposals' deadline reminders, then
evaluation's review reminders.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from evaluation import reminders
from proposals.reminders import describe_offset


class Command(BaseCommand):
    help = "Send due reminders exactly once each; --dry-run lists who would get what."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List, send nothing.")

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        planned = reminders.plan_all(now=now)
        for item in planned:
            self.stdout.write(
                f"{item.kind:8} {item.rfp.slug:24} {item.user.email:32} "
                f"{describe_offset(item.offset_seconds)} before "
                f"{item.due_instant:%Y-%m-%dT%H:%MZ}"
            )
        if dry_run:
            self.stdout.write(f"{len(planned)} reminder(s) due; none sent (dry run).")
            return
        sent = reminders.send_all_due(now=now)
        self.stdout.write(f"{sent} reminder(s) sent.")
