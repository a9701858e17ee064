"""Demo only: the deadline of a demo RFP passes now, and the RFP is opened as at a real one."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from proposals import demo_clock
from proposals.models import Proposal
from rfp_portal import deadlines


class Command(BaseCommand):
    help = (
        "Demo only (refused in production): move a demo RFP's deadline to the current minute "
        "and open its proposals, so reviewers and staff can try the evaluation at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The slug of a demo RFP, for example pypi-2019-q4.")

    def handle(self, *args, slug, **options):
        try:
            result = demo_clock.deadline_passes(slug=slug, now=timezone.now())
        except demo_clock.DemoClockRefused as exc:
            raise CommandError(str(exc)) from exc
        rfp = result.rfp
        self.stdout.write(
            f"Moved the deadline of {rfp.slug} from {deadlines.to_utc_iso(result.old_deadline)} "
            f"({deadlines.format_deadline(result.old_deadline, deadlines.AOE_ZONE_NAME)}) "
            f"to {deadlines.to_utc_iso(result.new_deadline)}, the current minute."
        )
        if result.review_due != result.old_review_due:
            self.stdout.write(
                f"Reviews are now due on {result.review_due.isoformat()} (end of day AoE), "
                "after the new deadline."
            )
        elif result.review_due:
            self.stdout.write(f"Reviews stay due on {result.review_due.isoformat()}.")
        if result.opened:
            submitted = rfp.proposals.filter(state=Proposal.State.SUBMITTED).count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Opened {rfp.slug}: its {submitted} submitted proposal(s) can now be read "
                    "by staff, and reviewers can be assigned. The move and the opening are in "
                    "the audit trail."
                )
            )
        else:
            self.stdout.write(f"{rfp.slug} was not opened (see the audit trail).")
