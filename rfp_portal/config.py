"""Parsing of the environment into settings values, with errors that name the variable.

settings.py reads the environment only through these helpers, so that a wrong value fails at
start-up with a message an operator can act on, and so the rules can be unit-tested without
re-importing the settings module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis", "sqlite"}
BROKER_SCHEMES = {"redis", "rediss"}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
ENVIRONMENTS = {"development", "production"}
# Django's own default key prefix; a key starting with it is a development key.
INSECURE_KEY_PREFIX = "django-insecure"


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is missing or wrong; the message names it."""


def env_bool(environ_: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ_.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(environ_: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = environ_.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(environ_: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = environ_.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def django_env(environ_: Mapping[str, str]) -> str:
    value = environ_.get("DJANGO_ENV", "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise ConfigError(f"DJANGO_ENV must be 'development' or 'production'; got {value!r}.")
    return value


def database_config(environ_: Mapping[str, str], *, default_sqlite: Path) -> dict:
    """DATABASES['default'] from DATABASE_URL, or the embedded SQLite file when it is unset."""
    url = environ_.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite),
            "OPTIONS": sqlite_options(),
        }
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            "DATABASE_URL must look like postgres://user:password@host:5432/name or "
            f"sqlite:////absolute/path.sqlite3; the scheme {scheme or '(none)'!r} is not supported."
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several kinds; all mean "bad URL"
        raise ConfigError(f"DATABASE_URL could not be parsed: {exc}") from exc
    if config["ENGINE"].endswith("sqlite3"):
        config["OPTIONS"] = {**sqlite_options(), **config.get("OPTIONS", {})}
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ConfigError("DATABASE_URL names no database: add /<name> after the host.")
    if config["ENGINE"].endswith("postgresql"):
        config["CONN_MAX_AGE"] = env_int(environ_, "DATABASE_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


SQLITE_BUSY_TIMEOUT_SECONDS = 20


def sqlite_options() -> dict:
    """SQLite set up for a multi-threaded web server (runserver, gunicorn threads, tests).

    - WAL: readers never wait for the writer, and the writer never waits for readers.
    - IMMEDIATE transactions take the write lock when they begin, so two writers queue on the
      busy timeout instead of one failing with "database is locked" when it upgrades a read
      lock mid-transaction (the busy timeout does not apply to that upgrade).
    - The busy timeout: how long a writer waits for another before giving up.
    - synchronous=NORMAL is safe with WAL (a power cut may lose the last commit, never corrupt).
    """
    return {
        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


def broker_url(environ_: Mapping[str, str]) -> str | None:
    """CELERY_BROKER_URL, else REDIS_URL, else None (tasks then run in-process)."""
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        url = environ_.get(name, "").strip()
        if url:
            scheme = urlsplit(url).scheme
            if scheme not in BROKER_SCHEMES:
                shown = scheme or "(none)"
                raise ConfigError(f"{name} must be a redis:// or rediss:// URL; got {shown!r}.")
            return url
    return None


def cache_config(environ_: Mapping[str, str], *, production: bool) -> dict:
    """CACHES['default']: Redis at REDIS_URL, else a cache in each process's memory.

    The cache holds what every web node and worker must agree on: the rate limits' counters
    (rfp_portal.ratelimits, allauth's sign-in limits), the second-factor codes already used and
    the one PDF check in flight per account. In a per-process cache each gunicorn worker would
    count on its own, so production refuses to start without REDIS_URL.
    """
    url = environ_.get("REDIS_URL", "").strip()
    if not url:
        if production:
            raise ConfigError(
                "REDIS_URL is required when DJANGO_ENV=production: the rate limits and the "
                "used sign-in codes must be counted in one cache shared by every web process "
                "and node, not in each process's memory."
            )
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        shown = scheme or "(none)"
        raise ConfigError(f"REDIS_URL must be a redis:// or rediss:// URL; got {shown!r}.")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def secret_key(environ_: Mapping[str, str], *, production: bool) -> str:
    key = environ_.get("SECRET_KEY", "")
    if not production:
        return key or "django-insecure-development-only-key-never-use-in-production"
    if not key:
        raise ConfigError("SECRET_KEY is required when DJANGO_ENV=production.")
    if len(key) < 50 or len(set(key)) < 5 or key.startswith(INSECURE_KEY_PREFIX):
        raise ConfigError(
            "SECRET_KEY is too weak for production: use at least 50 random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    return key


def allowed_hosts(environ_: Mapping[str, str], *, production: bool) -> list[str]:
    hosts = env_list(environ_, "ALLOWED_HOSTS", [] if production else ["127.0.0.1", "localhost"])
    if production and not hosts:
        raise ConfigError("ALLOWED_HOSTS is required when DJANGO_ENV=production (comma separated).")
    return hosts


def storage_config(environ_: Mapping[str, str]) -> dict:
    """STORAGES['default']: S3 (private, signed URLs) when AWS_STORAGE_BUCKET_NAME is set."""
    bucket = environ_.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options = {
        "bucket_name": bucket,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": env_int(environ_, "AWS_QUERYSTRING_EXPIRE", 60, minimum=1),
        "file_overwrite": False,
        "location": environ_.get("AWS_LOCATION", "").strip(),
    }
    for name, option in (
        ("AWS_S3_ENDPOINT_URL", "endpoint_url"),
        ("AWS_S3_REGION_NAME", "region_name"),
        ("AWS_ACCESS_KEY_ID", "access_key"),
        ("AWS_SECRET_ACCESS_KEY", "secret_key"),
    ):
        value = environ_.get(name, "").strip()
        if value:
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def current() -> Mapping[str, str]:
    return os.environ


def mailers_config(environ_: Mapping[str, str], *, default_dir: Path) -> dict:
    """MAILERS from EMAIL_URL (smtp://user:pass@host:587?tls=1), else one file per mail on disk."""
    url = environ_.get("EMAIL_URL", "").strip()
    if not url:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "OPTIONS": {"file_path": str(default_dir)},
            }
        }
    try:
        parsed = environ.Env.email_url_config(url)
    except Exception as exc:
        raise ConfigError(f"EMAIL_URL could not be parsed: {exc}") from exc
    if not parsed.get("EMAIL_HOST"):
        raise ConfigError("EMAIL_URL names no host: use smtp://user:password@host:587/?tls=True.")
    options = {
        "host": parsed["EMAIL_HOST"],
        "port": parsed.get("EMAIL_PORT") or 25,
        "username": parsed.get("EMAIL_HOST_USER") or "",
        "password": parsed.get("EMAIL_HOST_PASSWORD") or "",
        "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
        "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
        "timeout": 20,
    }
    return {"default": {"BACKEND": parsed["EMAIL_BACKEND"], "OPTIONS": options}}
