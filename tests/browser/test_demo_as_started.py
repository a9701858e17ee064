"""The demo exactly as the README starts it: `make run` in a copy of the checkout, every role.

A temporary copy of the working tree (uncommitted changes included) runs `make run PORT=<port>`
with none of the test process's settings, on the embedded SQLite and on a fresh PostgreSQL
database. Chromium then walks the journeys of the README against it: the proposer registers
interest, asks, drafts, uploads, submits and verifies the receipt; staff answer and publish an
addendum; the proposer acknowledges it and revises; the deadline passes
(`manage.py demo_deadline_passes`); staff build the reviewer pool and assign; the reviewer
declares no conflict and scores, submitting while the autosave is on its way; staff decide,
publish and export the decision report; the proposer reads the decision. Every page is checked
with axe-core, every link in every mail the demo wrote must point at the demo's own address, and
any console error, uncaught page error or 5xx answer on any page of any role fails the test.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.helpers.browser import ARTIFACTS
from tests.helpers.required_services import require_or_skip
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.demo]

CHECKOUT = Path(__file__).resolve().parents[2]
PASSWORD = "portal-demo-2026"  # the README's published demo password
DEMO_TOTP_SECRET = "RFPPORTALDEMOKEYRFPPORTALDEMOKEY"  # the README's published demo secret
PROPOSER = "proposer@example.org"
STAFF = "staff@example.org"
REVIEWER = "reviewer@example.org"
OPEN_RFP = "pypi-2019-q4"
OPEN_RFP_TITLE = "PyPI Advanced Security, Q4 2019"
START_TIMEOUT = 180  # seconds: migrate + load_demo + runserver on a slow machine
# What the test process has that a fresh shell running `make run` would not: the test settings,
# a database, a broker, a site address, storage. The demo must come up on its embedded defaults.
SCRUBBED = {
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SITE_URL",
    "VAR_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "FAST_PASSWORD_HASHER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "MAX_PDF_BYTES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_TLS_PROXY",
    # The Makefile's own variables: `make run` must choose them itself (we pass PORT only).
    "HOST",
    "PORT",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
}


# --------------------------------------------------------------------------------------------
# The demo server: a copy of the checkout running `make run`
# --------------------------------------------------------------------------------------------


@dataclass
class Demo:
    root: Path
    port: int
    env: dict[str, str]
    log: Path
    url: str = ""

    def __post_init__(self):
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def mail_dir(self) -> Path:
        return self.root / "var" / "mail"

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def manage(self, *args: str) -> str:
        """Run a management command in the copy, with the server's environment (as `make run`
        gives it: the variables it was started with plus the SITE_URL the Makefile exports)."""
        env = {**self.env, "SITE_URL": self.url}
        result = subprocess.run(
            [".venv/bin/python", "manage.py", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
        return result.stdout


def copy_checkout(target: Path) -> None:
    """The working tree as it is (tracked files and new, not ignored ones; not HEAD)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = CHECKOUT / name
        if not source.is_file():  # deleted in the working tree, not yet in the index
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)  # keeps mtimes, so make sees the files as they are
    # The virtualenv is shared, not rebuilt: `make run` depends on the stamp .venv/.installed,
    # which make touches after installing from the lock file. Through the symlink the copy has
    # the real checkout's venv and stamp, and copy2 kept the lock files' mtimes, so the stamp is
    # as new, relative to them, as in the checkout: make does not reinstall when the checkout's
    # venv is current. (pyproject.toml is a prerequisite too, and editing it after the install,
    # as adding a marker does, makes it newer than the stamp: see --old-file in `demo` below.)
    (target / ".venv").symlink_to(CHECKOUT / ".venv", target_is_directory=True)


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 8000:  # the README's default: a developer's own demo may be running there
            return port


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  our own server
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen) -> None:
    """Stop make, runserver and its autoreloader child: the process group started for them."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    # runserver's child may outlive make; the group is ours alone (start_new_session).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database for one run, dropped afterwards; skips without PostgreSQL."""
    import psycopg2
    from psycopg2 import sql

    try:
        admin = psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError as exc:
        require_or_skip(f"PostgreSQL does not answer on 127.0.0.1:5432 ({exc})")
    admin.autocommit = True
    name = f"rfp_demo_{secrets.token_hex(6)}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"demo-{request.param}") / "checkout"
    root.mkdir()
    copy_checkout(root)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith("AWS_")
    }
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_database")
    port = free_port()
    server = Demo(root=root, port=port, env=env, log=root.parent / "make-run.log")
    started = time.monotonic()
    with server.log.open("wb") as log:
        # The README's command. `--old-file` tells make that the stamp .venv/.installed is up to
        # date whatever the mtimes say: the venv is the one this test runs in, and remaking the
        # stamp would pip-install (network) into the real checkout's venv through the symlink
        # (pyproject.toml, a prerequisite, is newer than the stamp whenever it was edited after
        # the last install, as when a marker is added).
        process = subprocess.Popen(
            ["make", "--old-file=.venv/.installed", "run", f"PORT={port}"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        announced = f"RFP Portal is at {server.url}/"
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"make run exited with {process.returncode} before serving:\n"
                    + server.log_tail()
                )
            if announced in server.log.read_text(errors="replace") and answers_200(
                server.url + "/"
            ):
                break
            if time.monotonic() - started > START_TIMEOUT:
                pytest.fail(
                    f"make run did not serve {server.url}/ within {START_TIMEOUT} s:\n"
                    + server.log_tail()
                )
            time.sleep(0.5)
        print(f"make run ({request.param}) served after {time.monotonic() - started:.1f} s")
        yield server
    finally:
        stop(process)
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log, ARTIFACTS / f"{request.node.name}-make-run.log")
        shutil.rmtree(root.parent, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Browsers for each role, and the problems any of their pages run into
# --------------------------------------------------------------------------------------------


@dataclass
class Problems:
    """Console errors, uncaught page errors and 5xx answers, from every page of every role."""

    seen: list[str] = field(default_factory=list)

    def watch(self, role: str, context) -> None:
        def on_console(message):
            if message.type == "error":
                self.seen.append(f"[{role}] console error on {message.page.url}: {message.text}")

        def on_page_error(error):
            self.seen.append(f"[{role}] page error on {error.page.url}: {error.error}")

        def on_response(response):
            if response.status >= 500:
                self.seen.append(
                    f"[{role}] {response.status} for {response.request.method} {response.url}"
                )

        context.on("console", on_console)
        context.on("weberror", on_page_error)
        context.on("response", on_response)

    def assert_none(self, step: str, demo: Demo) -> None:
        # A failure the browser never sees (a task run in-process, a mail that could not be
        # written) still leaves its traceback in the server's log.
        log = demo.log.read_text(errors="replace")
        if "Traceback (most recent call last)" in log:
            start = log.index("Traceback (most recent call last)")
            self.seen.append("traceback in the make run log:\n" + log[start : start + 4000])
        assert not self.seen, (
            f"{step}: problems on the demo's pages:\n"
            + "\n".join(self.seen)
            + "\n--- make run log (tail) ---\n"
            + demo.log_tail(120)
        )


@pytest.fixture
def roles(browser, demo, request):
    """A browser context per role (opened on demand), all watched for problems."""
    problems = Problems()
    pages = {}

    def page_for(role: str):
        if role not in pages:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                timezone_id="Europe/Berlin",
                locale="en-GB",
                base_url=demo.url,
                accept_downloads=True,
            )
            context.set_default_timeout(20_000)
            problems.watch(role, context)
            pages[role] = context.new_page()
        return pages[role]

    page_for.problems = problems
    yield page_for
    report = getattr(request.node, "report_call", None)
    for role, page in pages.items():
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = f"{request.node.name}-{role}"
            page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
        page.context.close()


def totp_code() -> str:
    # The code of the current 30-second step, never one about to expire (tests/conftest.py does
    # the same): the page gets it a moment later.
    if 30 - time.time() % 30 < 3:
        time.sleep(3)
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, int(time.time()) // 30))


def nav(page, name: str):
    """A link of the header's main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def sign_in(page, check, email_address: str, *, second_factor: bool = False) -> None:
    if "/accounts/login/" not in page.url:
        page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    check(page)
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if second_factor:
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
        check(page)
        page.get_by_label("Code").fill(totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# --------------------------------------------------------------------------------------------
# The mails the demo wrote (Django's file backend: raw messages in var/mail/*.log)
# --------------------------------------------------------------------------------------------

MAIL_SEPARATOR = "\n" + "-" * 79 + "\n"
LINK = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass
class Mail:
    to: str
    subject: str
    key: str
    body: str


def read_mails(demo: Demo) -> list[Mail]:
    mails = []
    for path in sorted(demo.mail_dir.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
        for raw in path.read_text(errors="replace").split(MAIL_SEPARATOR):
            if not raw.strip():
                continue
            message = email.message_from_string(raw, policy=email.policy.default)
            # Links in headers (List-Unsubscribe, say) count too; bodies decoded (quoted-printable
            # breaks long links across lines in the raw text).
            bodies = [f"{name}: {value}" for name, value in message.items()] + [
                part.get_content()
                for part in message.walk()
                if part.get_content_type() in ("text/plain", "text/html")
            ]
            mails.append(
                Mail(
                    to=str(message["To"]),
                    subject=str(message["Subject"]),
                    key=str(message["X-Idempotency-Key"] or ""),
                    body="\n".join(bodies),
                )
            )
    return mails


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def assert_mail_links_point_at_the_demo(demo: Demo) -> list[Mail]:
    """Every link in every mail is the demo's own address (SITE_URL follows PORT), and answers
    (a page or a redirect to sign in; never 404 or a server error)."""
    mails = read_mails(demo)
    assert mails, f"no mail under {demo.mail_dir}"
    links = {(link.rstrip(".,;:"), m.subject) for m in mails for link in LINK.findall(m.body)}
    wrong = sorted(
        f"{link}  (in “{subject}”)"
        for link, subject in links
        if not link.startswith(demo.url + "/")
    )
    assert not wrong, f"mail links not pointing at {demo.url}/:\n" + "\n".join(wrong)
    opener = urllib.request.build_opener(NoRedirect)
    broken = []
    for link, subject in sorted(links):
        try:
            with opener.open(link, timeout=10) as response:  # our own server, GET only
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status not in (200, 301, 302, 303):
            broken.append(f"{status} {link}  (in “{subject}”)")
    assert not broken, "mail links that do not answer:\n" + "\n".join(broken)
    return mails


# --------------------------------------------------------------------------------------------
# The journey
# --------------------------------------------------------------------------------------------


def test_every_role_walks_the_demo_as_make_run_starts_it(demo, roles, assert_accessible, tmp_path):
    problems = roles.problems
    pdf = tmp_path / "tern-labs-proposal.pdf"
    pdf.write_bytes(make_pdf(3))
    title = "Tern Labs: signing PyPI with TUF"
    question = "May one team bid for both milestones with separate subcontractors?"
    answer = "Yes; name each subcontractor in the team section."

    # a. The proposer: interest, a question, a draft with every element, the PDF, submit, verify.
    proposer = roles("proposer")
    proposer.goto("/")
    expect(proposer.get_by_role("heading", level=1)).to_have_text("Requests for Proposals")
    assert_accessible(proposer)
    nav(proposer, "Sign in").click()
    sign_in(proposer, assert_accessible, PROPOSER)
    open_section = proposer.locator("section", has=proposer.locator("#open-heading"))
    open_section.get_by_role("link", name=OPEN_RFP_TITLE).click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text(OPEN_RFP_TITLE)
    assert_accessible(proposer)
    proposer.get_by_role("button", name="Keep me informed about this RFP").click()
    expect(proposer.locator(".messages")).to_contain_text("deadline reminders")
    expect(proposer.locator(".interest-note")).to_be_visible()
    assert_accessible(proposer)
    proposer.get_by_label("Your question").fill(question)
    proposer.get_by_role("button", name="Send your question").click()
    expect(proposer.locator(".my-questions")).to_contain_text("May one team bid")
    assert_accessible(proposer)

    proposer.get_by_label("A title for your proposal").fill(title)
    proposer.get_by_role("button", name="Start a proposal").click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text(title)
    assert_accessible(proposer)
    proposer.get_by_label("The team").fill("Two maintainers with packaging experience.")
    proposer.get_by_label(re.compile("I agree")).check()
    boxes = proposer.locator("input[type=checkbox][name=e_milestones]")
    expect(boxes).to_have_count(3)
    for box in boxes.all():
        box.check()
    proposer.get_by_label("Similar projects").fill("Signing for another package index.")
    timelines = proposer.locator("textarea[name^=e_timeline__]")
    expect(timelines).to_have_count(3)
    for area in timelines.all():
        area.fill("Four weeks")
    amounts = proposer.locator("input[name^=e_budget__]")
    expect(amounts).to_have_count(3)
    for amount, value in zip(amounts.all(), ("25000", "20000", "3000"), strict=True):
        amount.fill(value)
    expect(proposer.locator("#budget-check")).to_contain_text(
        "The total is within the overall cap."
    )
    expect(proposer.locator("#budget-check")).not_to_contain_text("Over")
    proposer.get_by_label("Proposal document (PDF)").set_input_files(pdf)
    assert_accessible(proposer)
    proposer.get_by_role("button", name="Save and submit now").click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    first_code = proposer.locator(".receipt__code").first.inner_text()
    assert re.fullmatch(r"R-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", first_code), first_code
    proposal_path = re.search(r"/proposals/\d+/", proposer.url).group(0)
    assert_accessible(proposer)

    proposer.get_by_role("contentinfo").get_by_role("link", name="Verify a receipt").click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text("Verify a receipt")
    assert_accessible(proposer)
    proposer.get_by_label("Receipt code").fill(first_code)
    proposer.get_by_label("The PDF you submitted (optional)").set_input_files(pdf)
    proposer.get_by_role("button", name="Verify").click()
    result = proposer.locator(".verify-result")
    expect(result).to_contain_text("received on time")
    expect(result).to_contain_text(OPEN_RFP_TITLE)
    expect(result).to_contain_text("The file matches the submitted PDF exactly.")
    assert_accessible(proposer)
    problems.assert_none("a. proposer submits", demo)

    # b. Staff (TOTP with the demo secret): answer the question, publish an addendum.
    staff = roles("staff")
    staff.goto("/accounts/login/")
    sign_in(staff, assert_accessible, STAFF, second_factor=True)
    nav(staff, "Staff").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Staff overview")
    assert_accessible(staff)
    staff.get_by_role("link", name=re.compile(rf"^1 question {re.escape(OPEN_RFP_TITLE)}$")).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(OPEN_RFP_TITLE)
    assert_accessible(staff)
    card = staff.locator(".question", has_text="May one team bid")
    card.get_by_label("Answer").fill(answer)
    card.get_by_role("button", name="Publish answer").click()
    expect(staff.locator(".messages")).to_be_visible()
    expect(staff.locator(".question", has_text="May one team bid")).to_contain_text("answered")
    assert_accessible(staff)

    nav(staff, "Staff").click()
    staff.get_by_role("link", name=f"Addendum {OPEN_RFP_TITLE}").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Publish an addendum")
    assert_accessible(staff)
    new_summary = (
        "Contractors are sought to sign PyPI's artifacts with The Update Framework (PEP 458) "
        "and to screen uploads for malicious content; both milestones may be bid for together."
    )
    staff.get_by_label("Summary").fill(new_summary)
    staff.get_by_label("What changed and why").fill("The summary says both milestones may be bid.")
    staff.get_by_role("button", name="Publish addendum").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Addendum 1")
    expect(staff.locator("main")).to_contain_text("both milestones may be bid for together")
    assert_accessible(staff)
    problems.assert_none("b. staff answer and publish an addendum", demo)

    # c. The proposer acknowledges the addendum and submits a revision.
    proposer.goto(proposal_path)
    pending = proposer.locator(".addenda-pending")
    expect(pending).to_contain_text("Addendum 1")
    assert_accessible(proposer)
    proposer.get_by_role("button", name="I have read addendum 1").click()
    expect(proposer.locator(".addenda-pending")).to_have_count(0)
    proposer.get_by_label("The team").fill("Two maintainers and a subcontracted security auditor.")
    proposer.get_by_role("button", name="Save and submit now").click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text("Proposal received: version 2")
    second_code = proposer.locator(".receipt__code").first.inner_text()
    assert second_code != first_code
    assert_accessible(proposer)
    proposer.goto(f"/rfps/{OPEN_RFP}/")
    expect(proposer.locator("#questions")).to_contain_text(answer)
    assert_accessible(proposer)
    problems.assert_none("c. proposer acknowledges and revises", demo)

    # d. The mails: every link points at this demo, and the journey's mails were written.
    mails = assert_mail_links_point_at_the_demo(demo)
    to_proposer = [m for m in mails if m.to == PROPOSER]
    receipts = " ".join(m.subject + m.body for m in to_proposer if m.key.startswith("receipt:"))
    assert first_code in receipts and second_code in receipts, receipts
    assert any(m.key.startswith(("answer:", "addendum:")) for m in to_proposer), [
        (m.key, m.subject) for m in to_proposer
    ]

    # e. The deadline passes (demo only): the RFP is opened as at a real deadline.
    output = demo.manage("demo_deadline_passes", OPEN_RFP)
    assert f"Opened {OPEN_RFP}" in output, output
    proposer.goto(f"/rfps/{OPEN_RFP}/")
    expect(proposer.locator("section.deadline .countdown")).to_contain_text("Closed")
    assert_accessible(proposer)
    problems.assert_none("e. the deadline passes", demo)

    # f. Staff: the reviewer pool (inviting the demo reviewer if it is empty) and assignment.
    nav(staff, "Staff").click()
    staff.get_by_role("link", name=f"Evaluation {OPEN_RFP_TITLE}").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(OPEN_RFP_TITLE)
    assert_accessible(staff)
    reviewer = roles("reviewer")
    if staff.locator(".pool", has_text=REVIEWER).count() == 0:
        staff.get_by_label("Reviewer's e-mail address").fill(REVIEWER)
        staff.get_by_role("button", name="Invite reviewer").click()
        expect(staff.locator(".messages")).to_contain_text("invitation has been sent")
        assert_accessible(staff)
        invitations = [
            m
            for m in read_mails(demo)
            if (m.to, m.key.split(":")[0]) == (REVIEWER, "reviewer-invitation")
            and OPEN_RFP_TITLE in m.subject
        ]
        assert len(invitations) == 1, [(m.key, m.subject) for m in read_mails(demo)]
        link = re.search(r"https?://\S+/reviewers/join/\S+/", invitations[0].body).group(0)
        assert link.startswith(demo.url + "/")
        reviewer.goto(link)  # the link exactly as mailed
        expect(reviewer.locator(".messages")).to_contain_text("to join the reviewers")
        sign_in(reviewer, assert_accessible, REVIEWER, second_factor=True)
        expect(reviewer.get_by_role("heading", level=1)).to_have_text(
            "Invitation to review proposals"
        )
        assert_accessible(reviewer)
        reviewer.get_by_role("button", name="Join the reviewers").click()
        expect(reviewer.locator(".messages")).to_contain_text("You are now a reviewer")
        expect(reviewer.get_by_role("heading", level=1)).to_have_text("Your review queue")
        assert_accessible(reviewer)
        staff.reload()
    else:
        reviewer.goto("/accounts/login/")
        sign_in(reviewer, assert_accessible, REVIEWER, second_factor=True)
    expect(staff.locator(".pool")).to_contain_text(REVIEWER)
    staff.get_by_label("Reviewers per proposal").fill("1")
    staff.get_by_role("button", name="Preview automatic assignment").click()
    expect(staff.get_by_role("heading", name="Proposed assignments")).to_be_visible()
    plan = staff.locator(
        "section.card", has=staff.get_by_role("heading", name="Proposed assignments")
    )
    expect(plan).to_contain_text(f"{title} → {REVIEWER}")
    assert_accessible(staff)
    staff.get_by_role("button", name="Apply these assignments").click()
    expect(staff.locator(".messages")).to_contain_text("1 assignment made")
    expect(staff.locator("table")).to_contain_text(REVIEWER)
    assert_accessible(staff)
    problems.assert_none("f. staff build the pool and assign", demo)

    # g. The reviewer: no conflict, scores, and Submit racing the autosave of a comment.
    nav(reviewer, "Reviews").click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Your review queue")
    assert_accessible(reviewer)
    row = reviewer.locator("tr", has_text=OPEN_RFP_TITLE)
    expect(row).not_to_contain_text(title)  # a number until no conflict is declared
    row.get_by_role("link", name=re.compile(r"^Proposal #\d+$")).click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Conflict of interest")
    expect(reviewer.locator("main")).not_to_contain_text(title)
    assert_accessible(reviewer)
    reviewer.get_by_label("No conflict").check()
    reviewer.get_by_role("button", name="Declare").click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(title)
    expect(reviewer.locator(".review-proposal")).to_contain_text("subcontracted security auditor")
    assert_accessible(reviewer)
    form = reviewer.locator(".review-form")
    for gate in (
        "Contains every required element",
        "Detailed enough to assess",
        "Format and submission requirements",
    ):
        form.get_by_role("group", name=re.compile(gate)).get_by_label("pass").check()
    for criterion, score in (
        ("Experience and competency", 4),
        ("Cost", 5),
        ("Process and timeline", 3),
    ):
        form.get_by_role("group", name=criterion).get_by_label(re.compile(rf"^\s*{score}:")).check()
    reviewer.get_by_label("Overall comment").fill("A credible team and a realistic plan.")
    autosaves = []
    reviewer.on(
        "request", lambda r: autosaves.append(r.url) if r.url.endswith("/autosave/") else None
    )
    comment = reviewer.get_by_label("Comment on Cost")
    comment.press_sequentially("Within every budget.", delay=5)
    # No wait: leaving the field fires "change", so htmx posts the autosave as the form submits.
    reviewer.get_by_role("button", name="Submit review").click()
    expect(reviewer.locator(".messages")).to_contain_text("Your review has been submitted.")
    reviewer.goto(f"/review/{re.search(r'/proposals/(\d+)/', proposal_path).group(1)}/")
    expect(reviewer.locator("#your-review-heading .state")).to_have_text("submitted")
    expect(reviewer.get_by_label("Comment on Cost")).to_have_value("Within every budget.")
    expect(reviewer.get_by_role("button", name="Update submitted review")).to_be_visible()
    assert_accessible(reviewer)
    print(f"autosave requests sent around the submit: {len(autosaves)}")
    problems.assert_none("g. the reviewer scores and submits", demo)

    # h. Staff decide, publish, export the report; the proposer reads the decision.
    nav(staff, "Staff").click()
    staff.get_by_role("link", name=f"Dashboard {OPEN_RFP_TITLE}").click()
    expect(staff.locator(".ranking-table")).to_contain_text(title)
    assert_accessible(staff)
    staff.get_by_role("link", name=f"decide {title}").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(title)
    assert_accessible(staff)
    staff.get_by_label("selected", exact=True).check()
    staff.get_by_label(re.compile("^Rationale")).fill("The strongest plan, within every budget.")
    awards = staff.locator("input[name^=award_]")
    expect(awards).to_have_count(3)
    for award, value in zip(awards.all(), ("25000", "20000", "3000"), strict=True):
        award.fill(value)
    staff.get_by_role("button", name="Record decision").click()
    expect(staff.locator(".messages")).to_contain_text("Decision recorded")
    assert_accessible(staff)
    staff.get_by_role("link", name="Publish all decisions…").click()
    staff.get_by_label("I understand this cannot be undone").check()
    staff.get_by_role("button", name=re.compile("^Publish and e-mail")).click()
    expect(staff.locator(".messages")).to_contain_text("Decisions published")
    assert_accessible(staff)
    staff.get_by_role("link", name=re.compile("^Exports")).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Exports of")
    assert_accessible(staff)
    staff.get_by_role("button", name="Decision report (PDF)").click()
    row = staff.locator("tbody tr").first
    download_link = row.get_by_role("link", name=re.compile("Download"))
    expect(download_link).to_be_visible(timeout=60_000)
    assert_accessible(staff)
    with staff.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename == f"{OPEN_RFP}-report.pdf"
    report = Path(download.value.path()).read_bytes()
    assert report.startswith(b"%PDF"), report[:40]

    proposer.goto(proposal_path)
    proposer.get_by_role("link", name="Decision and debrief").click()
    expect(proposer.get_by_role("heading", level=1)).to_have_text("Decision and debrief")
    expect(proposer.get_by_role("heading", level=2).first).to_have_text("Selected")
    expect(proposer.locator("main")).to_contain_text("The strongest plan, within every budget.")
    assert_accessible(proposer)
    problems.assert_none("h. staff decide, publish and export", demo)

    # And the mails of the whole journey still point at this demo.
    mails = assert_mail_links_point_at_the_demo(demo)
    assert any(m.to == PROPOSER and m.key.startswith("decision") for m in mails), [
        (m.to, m.key) for m in mails
    ]
