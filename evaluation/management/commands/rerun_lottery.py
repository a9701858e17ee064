"""Redo a lottery's draw from its seed, anywhere, and check the seed against its commitment.

    manage.py rerun_lottery 3
    manage.py rerun_lottery --seed 3f9a...c2 --candidates 12,7,31 --places 2 [--commitment HEX]

The first reads a drawn lottery's record (its seed is revealed once drawn; before, the command
refuses, as the seed is still secret); the second needs nothing but the published values. Both
print the commitment (SHA-256 of the seed), the order and the chosen proposals, with
evaluation.lottery.draw_order, the function the draw itself used.
"""

from django.core.management.base import BaseCommand, CommandError

from evaluation import lottery as lotteries
from evaluation.models import Lottery


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError as error:
        raise CommandError(
            "--candidates: proposal ids separated by commas, e.g. 12,7,31"
        ) from error


class Command(BaseCommand):
    help = "Re-run a lottery's draw from its seed and check the seed against its commitment."

    def add_arguments(self, parser):
        parser.add_argument("lottery", nargs="?", type=int, help="A drawn lottery's number.")
        parser.add_argument("--seed", help="The revealed seed (64 hexadecimal characters).")
        parser.add_argument("--candidates", help="Proposal ids separated by commas: 12,7,31.")
        parser.add_argument("--places", type=int, help="How many the draw chose (default: all).")
        parser.add_argument("--commitment", help="The published commitment to check the seed by.")

    def handle(self, *args, lottery=None, seed=None, candidates=None, places=None, **options):
        commitment = options.get("commitment")
        result = None
        if lottery is not None:
            if seed or candidates:
                raise CommandError("Give a lottery's number, or --seed and --candidates: not both.")
            record = Lottery.objects.filter(pk=lottery).first()
            if record is None:
                raise CommandError(f"No lottery number {lottery}.")
            if not record.is_drawn:
                raise CommandError(
                    f"Lottery {lottery} is not drawn yet: its seed stays secret until the draw. "
                    f"Its commitment is {record.commitment}."
                )
            seed, ids, places = record.seed, record.candidates, record.places
            commitment, result = record.commitment, record.result
        else:
            if not (seed and candidates):
                raise CommandError("Give a lottery's number, or --seed and --candidates.")
            ids = _ids(candidates)
        if places is not None and not 1 <= places <= len(ids):
            raise CommandError(f"--places must be between 1 and {len(ids)}.")
        try:
            redone = lotteries.rerun(seed, ids, places, commitment=commitment, result=result)
        except ValueError as error:
            raise CommandError(str(error)) from error
        out = self.stdout.write
        out(f"Commitment (SHA-256 of the seed): {redone.commitment}")
        if redone.matches_commitment is not None:
            out(
                "The seed matches the commitment."
                if redone.matches_commitment
                else "The seed does NOT match the commitment."
            )
        out(f"Candidates: {', '.join(str(i) for i in lotteries.canonical(ids))}")
        out(f"Order: {', '.join(str(i) for i in redone.order)}")
        if places is not None:
            out(f"Chosen ({places}): {', '.join(str(i) for i in redone.chosen)}")
        if redone.matches_result is not None:
            out(
                "The same order as recorded at the draw."
                if redone.matches_result
                else "NOT the order recorded at the draw."
            )
        if redone.matches_commitment is False or redone.matches_result is False:
            raise CommandError("The draw could not be confirmed.")
