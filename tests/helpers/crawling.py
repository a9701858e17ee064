"""Which pages a crawl visits next (tests/browser/test_crawl.py in chromium,
tests/rfp_portal/test_no_iso_timestamps.py with Django's test client): breadth first, each path
once, a few pages of one URL pattern and one query variant of it."""

import re
from collections import deque

PER_PATTERN = 2  # pages of one URL pattern, e.g. /proposals/N/versions/N/, /staff/rfps/S/…


def pattern_of(path: str) -> str:
    """Digits folded, and the RFP in staff pages (each RFP's staff pages are the same pages)."""
    return re.sub(r"\d+", "N", re.sub(r"^/staff/rfps/[^/]+/", "/staff/rfps/S/", path))


class Frontier:
    """The paths still to visit, first found first."""

    def __init__(self, starts: list[str]) -> None:
        self.queue = deque(starts)
        self.seen = set(starts)
        self.per_pattern: dict[str, int] = {}
        self.queried: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.queue)

    def pop(self) -> str:
        return self.queue.popleft()

    def add(self, path: str) -> None:
        """Queue a path found on a page, unless it was found before, PER_PATTERN paths of its
        pattern are queued already, or (with a query: a filter, a sort, a page) one query
        variant of its pattern is."""
        if path in self.seen:
            return
        self.seen.add(path)
        bare, _, query = path.partition("?")
        key = pattern_of(bare)
        if query:
            if key in self.queried:
                return
            self.queried.add(key)
        else:
            if self.per_pattern.get(key, 0) >= PER_PATTERN:
                return
            self.per_pattern[key] = self.per_pattern.get(key, 0) + 1
        self.queue.append(path)
