"""Settings parsing: wrong or missing values fail at start-up, naming the variable."""

import pytest

from rfp_portal import config
from tests.helpers.commands import manage_py

STRONG_KEY = "k3y-" + "x7Qz9pL2mN4vB8cR1tY6uW0eA5sD3fG" * 2


def test_no_database_url_means_embedded_sqlite(tmp_path):
    db = config.database_config({}, default_sqlite=tmp_path / "db.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "db.sqlite3")


def test_postgres_database_url_is_parsed(tmp_path):
    db = config.database_config(
        {"DATABASE_URL": "postgres://u:p@db.internal:5433/portal"}, default_sqlite=tmp_path
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db.internal", 5433, "portal", "u")


@pytest.mark.parametrize(
    "url",
    ["mysql://u:p@h/db", "not a url", "http://example.org/db", "postgres://u:p@host:5432"],
)
def test_bad_database_url_is_a_clear_error_naming_the_variable(url, tmp_path):
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        config.database_config({"DATABASE_URL": url}, default_sqlite=tmp_path)


def test_broker_url_prefers_celery_broker_url_and_rejects_other_schemes():
    assert config.broker_url({}) is None
    assert config.broker_url({"REDIS_URL": "redis://r:6379/0"}) == "redis://r:6379/0"
    assert (
        config.broker_url({"REDIS_URL": "redis://a/0", "CELERY_BROKER_URL": "redis://b/1"})
        == "redis://b/1"
    )
    with pytest.raises(config.ConfigError, match="REDIS_URL"):
        config.broker_url({"REDIS_URL": "amqp://guest@localhost//"})


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_bad_boolean_names_the_variable(value):
    with pytest.raises(config.ConfigError, match="DEBUG"):
        config.env_bool({"DEBUG": value}, "DEBUG", False)


def test_production_needs_a_strong_secret_key_and_hosts():
    with pytest.raises(config.ConfigError, match="SECRET_KEY is required"):
        config.secret_key({}, production=True)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is too weak"):
        config.secret_key({"SECRET_KEY": "short"}, production=True)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is too weak"):
        config.secret_key({"SECRET_KEY": "django-insecure-" + "a1b2c3d4e5" * 6}, production=True)
    assert config.secret_key({"SECRET_KEY": STRONG_KEY}, production=True) == STRONG_KEY
    with pytest.raises(config.ConfigError, match="ALLOWED_HOSTS"):
        config.allowed_hosts({}, production=True)


def test_s3_storage_is_private_with_signed_urls():
    storage = config.storage_config(
        {"AWS_STORAGE_BUCKET_NAME": "proposals", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["default_acl"] == "private"
    assert storage["OPTIONS"]["querystring_auth"] is True
    assert storage["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert config.storage_config({})["BACKEND"].endswith("FileSystemStorage")


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "rfp.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rfp_portal_unused",
    "EMAIL_URL": "smtp+tls://portal:secret@mail.example.org:587",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
}


@pytest.fixture(autouse=True)
def _receipt_keys_in_production(monkeypatch, _receipt_key):
    # Production refuses to start without a receipt signing key (rfp_portal/settings.py).
    monkeypatch.setitem(PRODUCTION_ENV, "RECEIPT_KEYS_DIR", str(_receipt_key))


def test_check_deploy_in_production_profile_has_no_warnings(tmp_path):
    result = manage_py(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_production_without_secret_key_fails_at_start_naming_it(tmp_path):
    env = {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)}
    env.pop("SECRET_KEY")
    result = manage_py(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_without_mail_server_fails_at_start_naming_it(tmp_path):
    env = {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)}
    env.pop("EMAIL_URL")
    result = manage_py(["check"], env)
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def test_rate_limits_are_never_counted_per_process_in_production():
    # The rate limits' counters live in the default cache: without Redis every process (and
    # node) would count on its own, and an attacker would get the limit once per process.
    with pytest.raises(config.ConfigError, match="REDIS_URL is required when DJANGO_ENV"):
        config.cache_config({}, production=True)
    with pytest.raises(config.ConfigError, match="REDIS_URL must be a redis://"):
        config.cache_config({"REDIS_URL": "memcached://127.0.0.1"}, production=True)
    shared = config.cache_config({"REDIS_URL": "redis://redis:6379/0"}, production=True)
    assert shared == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://redis:6379/0",
    }
    assert config.cache_config({}, production=False)["BACKEND"].endswith("LocMemCache")


def test_production_without_redis_fails_at_start_naming_it(tmp_path):
    env = {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL")
    result = manage_py(["check"], env)
    assert result.returncode != 0
    assert "REDIS_URL is required" in result.stderr


def test_bad_database_url_fails_at_start_naming_it(tmp_path):
    result = manage_py(["check"], {"DATABASE_URL": "mysql://x@y/z", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_email_url_configures_smtp_and_default_is_files(tmp_path):
    default = config.mailers_config({}, default_dir=tmp_path)["default"]
    assert default["BACKEND"].endswith("filebased.EmailBackend")
    smtp = config.mailers_config(
        {"EMAIL_URL": "smtp+tls://me:secret@mail.example.org:587"}, default_dir=tmp_path
    )["default"]
    assert smtp["BACKEND"].endswith("smtp.EmailBackend")
    assert smtp["OPTIONS"]["host"] == "mail.example.org"
    assert smtp["OPTIONS"]["use_tls"] is True


HEADER_PROBE = """
import json
from django.test import Client
client = Client()
out = {}
for path in ("/accounts/login/", "/admin/login/", "/static/css/site.css"):
    r = client.get(path, secure=True, HTTP_HOST="rfp.example.org")
    out[path] = {
        "status": r.status_code,
        "headers": dict(r.headers),
        "cookies": {k: {"secure": v["secure"], "httponly": v["httponly"], "samesite": v["samesite"]}
                    for k, v in r.cookies.items()},
    }
r = client.get("/accounts/login/", HTTP_HOST="rfp.example.org")
out["plain-http"] = {"status": r.status_code, "location": r.headers.get("Location", "")}
print("PROBE" + json.dumps(out))
"""


@pytest.mark.postgresql(reason="the production profile refuses SQLite by design")
@pytest.mark.django_db
def test_production_responses_carry_the_security_headers_and_secure_cookies(tmp_path):
    """In the production profile every response (pages, the admin, static files) has HSTS, a
    strict CSP, frame-ancestors and X-Frame-Options, Referrer-Policy, Permissions-Policy; cookies
    are Secure; plain HTTP is redirected to HTTPS."""
    import json

    from django.db import connection

    db = connection.settings_dict
    env = {
        **PRODUCTION_ENV,
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "BEHIND_TLS_PROXY": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = manage_py(["collectstatic", "--noinput", "-v0"], env)
    assert collected.returncode == 0, collected.stderr
    result = manage_py(["shell", "-c", HEADER_PROBE], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.split("PROBE", 1)[1])
    for path in ("/accounts/login/", "/admin/login/", "/static/css/site.css"):
        headers = out[path]["headers"]
        assert out[path]["status"] in (200, 302), (path, out[path]["status"])
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000"), path
        assert "includeSubDomains" in headers["Strict-Transport-Security"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "camera=()" in headers["Permissions-Policy"]
        assert "publickey-credentials-get=(self)" in headers["Permissions-Policy"]
        if path != "/static/css/site.css":
            csp = headers["Content-Security-Policy"]
            script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
            assert "'unsafe-inline'" not in script_src, script_src
            assert "frame-ancestors 'none'" in csp
            assert headers["X-Frame-Options"] == "DENY"
    cookies = out["/accounts/login/"]["cookies"]
    assert cookies, "the sign-in page sets the CSRF cookie"
    assert all(c["secure"] for c in cookies.values()), cookies
    assert out["plain-http"]["status"] == 301
    assert out["plain-http"]["location"].startswith("https://rfp.example.org/")
