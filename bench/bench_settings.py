"""The project's settings plus the bench-only URLconf (the upload baseline view)."""

from rfp_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
