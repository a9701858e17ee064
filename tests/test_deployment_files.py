"""docker-compose.yml, the Dockerfile and the README agree with the code (no Docker here)."""

import runpy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgres_and_redis():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    assert "gunicorn rfp_portal.wsgi" in services["web"]["command"]
    assert "migrate" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A rfp_portal worker")
    assert services["beat"]["command"].startswith("celery -A rfp_portal beat")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        env = services[name]["environment"]
        assert env["DJANGO_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_requires_a_secret_key_rather_than_shipping_one():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "SECRET_KEY: ${SECRET_KEY:?" in text


def test_dockerfile_builds_from_the_lock_file_and_serves_with_gunicorn():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.13" in text
    assert "pip install -r requirements.lock" in text
    assert "collectstatic" in text and "gunicorn" in text


class RecordingEnv(dict):
    """An environment that remembers every name the settings asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def environment_variables_read_by_settings(tmp_path, monkeypatch):
    from rfp_portal import config

    names = set()
    production = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "s3cret-" + "Zq8wX2vB7nM4kL1pR6tY9uE3aS5dF0gH" * 2,
        "ALLOWED_HOSTS": "rfp.example.org",
        "DATABASE_URL": "postgres://u@h/db",
        "EMAIL_URL": "smtp://mail.example.org:25",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "AWS_STORAGE_BUCKET_NAME": "b",
        "RECEIPT_KEYS_DIR": str(tmp_path / "receipt-keys"),
    }
    from proposals import receipt_signing

    receipt_signing.create_key(tmp_path / "receipt-keys")  # production starts only with one
    for env in ({}, production):
        recording = RecordingEnv(env, VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path / "s"))
        monkeypatch.setattr(config, "current", lambda recording=recording: recording)
        runpy.run_path(str(ROOT / "rfp_portal" / "settings.py"))
        names |= recording.asked
    return names


def test_every_environment_variable_is_documented_in_the_readme(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    names = environment_variables_read_by_settings(tmp_path, monkeypatch)
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AWS_STORAGE_BUCKET_NAME"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"README lacks: {missing}"
