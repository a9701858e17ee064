"""What the chromium tests share besides fixtures (importable without Playwright): where a
failing journey leaves its screenshot, the WCAG rules axe-core checks, and the console line of
a failed load."""

import os
import tempfile
from pathlib import Path

ARTIFACTS = Path(
    os.environ.get("BROWSER_ARTIFACTS", Path(tempfile.gettempdir()) / "rfp-portal-browser")
)
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

# Chromium's console line for a response of 400 or more or a failed request. The page itself
# may answer 403 or 404 on purpose (its status is checked against the one expected), and any
# other resource is reported, with its method and type, by the crawl's response and
# requestfailed listeners (test_crawl.py): the console line would only repeat it.
FAILED_TO_LOAD = "Failed to load resource: "
