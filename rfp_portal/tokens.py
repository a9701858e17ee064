"""Signed links (invitations, subscriptions): one way to make them and read them back."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import Model, QuerySet


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


def load[M: Model](
    token: str,
    *,
    salt: str,
    max_age: int | None,
    queryset: QuerySet[M],
    id_key: str,
    error: type[Exception],
    expired: str,
    invalid: str,
) -> tuple[M | None, dict[str, Any]]:
    """read() the token, then the object of `queryset` whose pk is its `id_key`: (object or
    None, the signed data). Whether the object still fits the link is the caller's to check."""
    data = read(token, salt=salt, max_age=max_age, error=error, expired=expired, invalid=invalid)
    return queryset.filter(pk=data.get(id_key)).first(), data
