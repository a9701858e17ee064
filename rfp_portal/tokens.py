"""Signed links (invitations, subscriptions): one way to make them and read them back."""

from __future__ import annotations

from django.core import signing


def make(data: dict, *, salt: str) -> str:
    return signing.dumps(data, salt=salt, compress=True)


def read(
    token: str,
    *,
    salt: str,
    max_age: int | None,
    error: type[Exception],
    expired: str,
    invalid: str,
) -> dict:
    """The signed data, or `error(expired)` / `error(invalid)` for a stale or forged link."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise error(expired) from None
    except signing.BadSignature:
        raise error(invalid) from None
