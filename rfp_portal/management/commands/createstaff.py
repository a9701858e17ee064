"""Make a staff user from the command line (the first one, typically)."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from rfp_portal import permissions
from rfp_portal.accounts import ensure_user


class Command(BaseCommand):
    help = (
        "Create a staff user with a verified e-mail address and Django admin access. "
        "They must set up two-factor authentication at their first sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="Full name")
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Read the password from this environment variable instead of prompting.",
        )

    def handle(self, *args, email, name, password_from_env, **options):
        import os

        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an e-mail address.") from None
        if password_from_env:
            password = os.environ.get(password_from_env, "")
            if not password:
                raise CommandError(f"The environment variable {password_from_env} is empty.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        if len(password) < 10:
            raise CommandError("Use a password of at least 10 characters.")
        user, created = ensure_user(
            email=email,
            password=password,
            roles=(permissions.Role.STAFF,),
            full_name=name,
            admin_access=True,
        )
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        verb = "Created" if created else "Updated existing"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} staff user {user.email}. They will be asked to set up two-factor "
                "authentication before they can use the staff pages."
            )
        )
