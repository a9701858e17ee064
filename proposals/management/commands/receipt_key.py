"""Receipt signing keys: `receipt_key create` makes a key and makes it current; `list` shows them.

Keys live in settings.RECEIPT_KEYS_DIR (proposals.receipt_signing). Rotation is `create` again:
the earlier keys stay in the directory, and their public halves stay published at
/.well-known/receipt-keys.json, so receipts they signed still verify.
"""

from django.core.management.base import BaseCommand, CommandError

from proposals import receipt_signing


class Command(BaseCommand):
    help = "Create (and make current) or list the Ed25519 keys that sign receipts."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list"])
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="create: do nothing when a current key exists already (for `make run`).",
        )

    def handle(self, *args, action, if_missing, **options):
        directory = receipt_signing.keys_dir()
        current = receipt_signing.current_key_id(directory)
        if action == "create":
            if if_missing and current is not None:
                self.stdout.write(f"Current receipt key: {current} (in {directory})")
                return
            key_id = receipt_signing.create_key(directory)
            self.stdout.write(f"Created receipt key {key_id} in {directory}; it is now current.")
            if current:
                self.stdout.write(f"The earlier key {current} stays published for old receipts.")
            return
        keys = receipt_signing.public_keys(directory)
        if not keys:
            raise CommandError(f"No receipt keys in {directory}.")
        for key_id in keys:
            self.stdout.write(f"{key_id}{'  (current)' if key_id == current else ''}")
