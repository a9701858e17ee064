"""Load the demo RFPs and people (idempotent) and print how to sign in.

Here, not in proposals, because the demo as a whole is proposals' demo and then its evaluation.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evaluation import demo
from proposals import demo as proposals_demo
from proposals import services


class Command(BaseCommand):
    help = "Load the demo RFPs from proposals/demo_data/rfps and demo users. Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the logins.")

    def handle(self, *args, quiet_logins=False, **options):
        try:
            report = demo.load_demo(now=timezone.now())
        except services.RFPFileError as exc:
            raise CommandError(str(exc)) from exc
        for slug in report.rfps_created:
            self.stdout.write(f"Loaded RFP {slug}")
        for slug in report.rfps_kept:
            self.stdout.write(f"RFP {slug} exists already; left as it is")
        self.stdout.write(f"Users created: {len(report.users_created)}")
        if quiet_logins:
            return
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Demo logins (password for all: {proposals_demo.DEMO_PASSWORD})")
        )
        for person in proposals_demo.DEMO_PEOPLE:
            roles = ", ".join(person.roles)
            mfa = "  TOTP secret " + proposals_demo.DEMO_TOTP_SECRET if person.has_mfa else ""
            self.stdout.write(f"  {person.email:<26} {roles:<10}{mfa}")
        self.stdout.write("  Current TOTP code for the demo secret: python manage.py demo_totp")
