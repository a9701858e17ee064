"""The second factor of the test people: one TOTP secret, and its current code."""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET, *, offset: int = 0) -> str:
    # Never hand out a code about to expire: a journey types it a moment later.
    if 30 - time.time() % 30 < 3:
        time.sleep(3)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))
