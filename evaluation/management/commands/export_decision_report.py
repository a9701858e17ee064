"""Write an RFP's decision report PDF to a file, without a browser."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation import exports
from proposals import rules as proposal_rules
from proposals.models import RFP
from rfp_portal import audit
from rfp_portal.audit import AuditAction


class Command(BaseCommand):
    help = "Render the decision report of an opened RFP to a PDF file."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--output", required=True, help="Where to write the PDF.")

    def handle(self, *args, slug, output, **options):
        rfp = RFP.objects.filter(slug=slug).first()
        if rfp is None:
            raise CommandError(f"No RFP with the slug {slug!r}.")
        if proposal_rules.is_sealed(rfp):
            raise CommandError(f"{slug} is still sealed: its proposals open at the deadline.")
        data, _problems = exports.render_report(rfp=rfp)
        Path(output).write_bytes(data)
        audit.record(action=AuditAction.EXPORT_REPORT_WRITTEN, obj=rfp, details={"output": output})
        self.stdout.write(f"Wrote {output} ({len(data):,} bytes).")
