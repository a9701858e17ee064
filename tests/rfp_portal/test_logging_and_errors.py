"""Logs and error reports (rfp_portal.observability, settings): one JSON object per line in
production or with LOG_FORMAT=json, plain text otherwise; each request's id on its lines and in
its response; Sentry off without SENTRY_DSN, on with one, and sending no personal data.

The settings are read once per process, so each configuration is tried in a manage.py process
of its own (tests/helpers/commands.py)."""

from __future__ import annotations

import json

import pytest
import sentry_sdk

from tests.helpers.commands import manage_py
from tests.rfp_portal.test_config import PRODUCTION_ENV

LOG_A_LINE = (
    "import logging; from django.conf import settings; "
    "logging.getLogger('rfp_portal.probe').warning('hello %s', 'world', extra={'rfp': 'pypi'}); "
    "print('LOG_FORMAT', settings.LOG_FORMAT)"
)


def _stderr_lines(result, log_format: str = "") -> list[str]:
    assert result.returncode == 0, result.stderr
    # manage.py shell starts even when the settings fail: make sure they were read.
    if log_format:
        assert f"LOG_FORMAT {log_format}" in result.stdout, result.stdout + result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_production_logs_are_json_lines(tmp_path, _receipt_key):
    env = {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path), "RECEIPT_KEYS_DIR": str(_receipt_key)}
    lines = _stderr_lines(manage_py(["shell", "-c", LOG_A_LINE], env), "json")
    records = [json.loads(line) for line in lines]  # every line parses
    record = records[-1]
    assert record["message"] == "hello world"
    assert record["level"] == "WARNING"
    assert record["logger"] == "rfp_portal.probe"
    assert record["rfp"] == "pypi"
    assert record["request_id"] == "-"  # outside a request
    assert record["time"]


def test_log_format_json_outside_production_and_text_by_default(tmp_path):
    env = {"VAR_DIR": str(tmp_path)}
    text = _stderr_lines(manage_py(["shell", "-c", LOG_A_LINE], env), "text")
    assert text[-1] == "hello world"
    json_env = {**env, "LOG_FORMAT": "json"}
    lines = _stderr_lines(manage_py(["shell", "-c", LOG_A_LINE], json_env), "json")
    assert json.loads(lines[-1])["message"] == "hello world"


REQUEST_PROBE = (
    "from django.test import Client; "
    "r = Client().get("
    "'/no-such-page/', HTTP_X_REQUEST_ID='probe-0123456789', HTTP_HOST='localhost'); "
    "print('ID', r['X-Request-ID'])"
)


def test_a_request_s_lines_carry_its_id(tmp_path):
    env = {"VAR_DIR": str(tmp_path), "LOG_FORMAT": "json"}
    result = manage_py(["shell", "-c", REQUEST_PROBE], env)
    lines = _stderr_lines(result)
    records = [json.loads(line) for line in lines]  # every line, Django's own included
    not_found = [record for record in records if "Not Found" in record["message"]]
    assert not_found, result.stderr
    assert not_found[-1]["request_id"] == "probe-0123456789"
    assert not_found[-1]["logger"] == "django.request"
    assert "ID probe-0123456789" in result.stdout


@pytest.mark.django_db
def test_each_response_names_its_request_id(client):
    first = client.get("/health/live/")  # answered before the id is given: a probe
    assert "X-Request-ID" not in first
    given = client.get("/", HTTP_X_REQUEST_ID="from-the-proxy-42")["X-Request-ID"]
    assert given == "from-the-proxy-42"
    made = client.get("/", HTTP_X_REQUEST_ID="bad id\nwith a newline")["X-Request-ID"]
    assert made != "bad id\nwith a newline" and len(made) == 32


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_FORMAT", "yaml"),
        ("METRICS_TOKEN", "too-short"),
        ("SENTRY_TRACES_SAMPLE_RATE", "2"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(tmp_path, variable, value):
    env = {"VAR_DIR": str(tmp_path), variable: value}
    if variable == "SENTRY_TRACES_SAMPLE_RATE":
        env["SENTRY_DSN"] = "http://public@127.0.0.1:9/1"
    result = manage_py(["check"], env)
    assert result.returncode != 0
    assert variable in result.stderr


def test_error_reporting_is_off_without_a_dsn():
    assert not sentry_sdk.get_client().is_active()


SENTRY_PROBE = """
import json, sentry_sdk
client = sentry_sdk.get_client()
print("SENTRY" + json.dumps({
    "active": client.is_active(),
    "dsn": client.options["dsn"],
    "send_default_pii": client.options["send_default_pii"],
    "max_request_body_size": client.options["max_request_body_size"],
    "include_local_variables": client.options["include_local_variables"],
    "traces_sample_rate": client.options["traces_sample_rate"],
    "environment": client.options["environment"],
    "integrations": sorted(client.integrations),
}))
"""


def test_error_reporting_is_on_with_a_dsn_and_sends_no_personal_data(tmp_path):
    # A DSN to a port where nothing listens: the client starts, nothing is sent (no event).
    dsn = "http://public@127.0.0.1:9/1"
    env = {"VAR_DIR": str(tmp_path), "SENTRY_DSN": dsn, "SENTRY_TRACES_SAMPLE_RATE": "0.25"}
    result = manage_py(["shell", "-c", SENTRY_PROBE], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.split("SENTRY", 1)[1])
    assert out["active"] is True
    assert out["dsn"] == dsn
    assert out["send_default_pii"] is False  # no user, cookies or IP address
    assert out["max_request_body_size"] == "never"  # no draft text or upload
    assert out["include_local_variables"] is False  # no proposal text from a stack frame
    assert out["traces_sample_rate"] == 0.25
    assert out["environment"] == "development"
    assert {"django", "celery"} <= set(out["integrations"])

    off = manage_py(["shell", "-c", SENTRY_PROBE], {"VAR_DIR": str(tmp_path)})
    assert json.loads(off.stdout.split("SENTRY", 1)[1])["active"] is False
