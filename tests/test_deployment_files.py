"""docker-compose.yml, the Dockerfile and the README agree with the code (no Docker here)."""

import re
import runpy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def compose():
    return yaml.safe_load(compose_text())


APP_SERVICES = ("migrate", "web", "worker", "beat")
ONE_SHOT = {"migrate", "createbucket"}
REQUIRED = (
    "SECRET_KEY",
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "EMAIL_URL",
)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; $$ is a dollar.
VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, environ: dict[str, str]) -> str:
    """Compose's interpolation, the forms this file uses: a missing `:?` variable stops it."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = environ.get(name)
        unset = value is None or (value == "" and op is not None and op.startswith(":"))
        if not unset:
            return value
        if op in (":?", "?"):
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        return arg if op in (":-", "-") else ""

    return VARIABLE.sub(replace, text)


TRY_ENV = {
    "SECRET_KEY": "Zq8wX2vB7nM4kL1pR6tY9uE3aS5dF0gH" * 2,
    "POSTGRES_PASSWORD": "pg-secret",
    "MINIO_ROOT_USER": "portal",
    "MINIO_ROOT_PASSWORD": "minio-secret",
    "EMAIL_URL": "smtp://mailpit:1025",
}


def rendered(environ=TRY_ENV):
    """The file as compose hands it to the engine: interpolated, environment values as strings."""
    parsed = yaml.safe_load(interpolate(compose_text(), environ))
    for service in parsed["services"].values():
        env = service.get("environment", {})
        # A key without a value is taken from compose's own environment: unset here.
        service["environment"] = {
            key: str(value) for key, value in env.items() if value is not None
        }
    return parsed


def test_compose_runs_the_whole_stack():
    services = compose()["services"]
    assert set(services) == {
        *APP_SERVICES,
        *("postgres", "redis", "minio", "createbucket", "mailpit", "caddy"),
    }
    assert services["web"]["command"][:2] == ["gunicorn", "rfp_portal.wsgi"]
    assert services["worker"]["command"].startswith("celery -A rfp_portal worker")
    assert services["beat"]["command"].startswith("celery -A rfp_portal beat")
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["DJANGO_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["RECEIPT_KEYS_DIR"] == "/app/var/receipt-keys"
        assert "receipt-keys:/app/var/receipt-keys" in services[name]["volumes"]
    # A key left without a value (`KEY: ${KEY:-}` unquoted) is copied from the shell that runs
    # compose, whatever it holds: an optional variable is quoted, so it is empty instead.
    interpolated = yaml.safe_load(interpolate(compose_text(), TRY_ENV))["services"]
    for name, service in interpolated.items():
        assert None not in service.get("environment", {}).values(), name


def test_every_service_states_its_health_check():
    services = compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if name in ONE_SHOT:
            # A one-shot's health is its exit status: the others wait for it to complete.
            assert check == {"disable": True} and service["restart"] == "no", name
        else:
            assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
    assert "/health/live/" in " ".join(services["web"]["healthcheck"]["test"])
    assert (
        "inspect ping --destination celery@$$HOSTNAME"
        in services["worker"]["healthcheck"]["test"][1]
    )
    assert "--enable-remote-control" in services["beat"]["command"]
    assert "celerybeat@$$HOSTNAME" in services["beat"]["healthcheck"]["test"][1]


def test_the_image_is_built_once_and_shared():
    services = compose()["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["migrate"]
    for name in APP_SERVICES:
        assert services[name]["image"] == "rfp-portal:local"
    for name in ("web", "worker", "beat"):
        assert services[name]["pull_policy"] == "never"


def test_only_the_one_shot_migrate_migrates_and_the_others_wait_for_it():
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert "receipt_key create --if-missing" in migrate["command"]
    assert "migrate --noinput" in migrate["command"]
    for name, service in services.items():
        command = service.get("command", "")
        command = " ".join(command) if isinstance(command, list) else command
        if name != "migrate":
            assert "manage.py migrate" not in command, name
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    for name in ("migrate", "web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["createbucket"]["condition"] == "service_completed_successfully", name


def test_uploads_go_to_minio_not_to_a_shared_volume():
    parsed = compose()
    assert "media" not in parsed["volumes"]
    services = rendered()["services"]
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["AWS_STORAGE_BUCKET_NAME"] == "rfp-portal"
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio.localhost:9000"
        assert env["AWS_ACCESS_KEY_ID"] == TRY_ENV["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == TRY_ENV["MINIO_ROOT_PASSWORD"]
        assert "MEDIA_ROOT" not in env
        assert not any("media" in volume for volume in services[name]["volumes"])
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio")
    assert minio["command"] == "server /data --console-address :9001"
    # The endpoint's host name resolves to MinIO inside the network (and to loopback in browsers).
    assert "minio.localhost" in minio["networks"]["default"]["aliases"]
    bucket = services["createbucket"]
    assert bucket["image"].startswith("minio/mc")
    script = bucket["command"][0]
    assert "mc alias set portal http://minio:9000" in script
    assert 'mc mb --ignore-existing "portal/$BUCKET"' in script
    assert bucket["environment"]["BUCKET"] == "rfp-portal"
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"


def test_mailpit_is_only_for_trying_and_mail_is_otherwise_required():
    services = compose()["services"]
    for name, service in services.items():
        assert ("profiles" in service) == (name == "mailpit"), name
    assert services["mailpit"]["profiles"] == ["try"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    ports = " ".join(services["mailpit"]["ports"])
    assert ":8025:8025" in ports and ":1025:1025" in ports
    assert "EMAIL_URL: ${EMAIL_URL:?" in compose_text()
    assert rendered()["services"]["web"]["environment"]["EMAIL_URL"] == "smtp://mailpit:1025"


def test_required_variables_fail_fast_and_nothing_secret_has_a_default():
    text = compose_text()
    for name in REQUIRED:
        assert f"${{{name}:?" in text, name
        assert f"${{{name}:-" not in text, name
    for name in REQUIRED:
        environ = {key: value for key, value in TRY_ENV.items() if key != name}
        with pytest.raises(MissingVariable, match=f"{name} is missing a value"):
            interpolate(text, environ)
        with pytest.raises(MissingVariable, match=name):
            interpolate(text, {**environ, name: ""})  # empty counts as missing with `:?`


def test_a_missing_secret_key_names_what_to_set():
    environ = {key: value for key, value in TRY_ENV.items() if key != "SECRET_KEY"}
    with pytest.raises(MissingVariable) as missing:
        interpolate(compose_text(), environ)
    assert str(missing.value) == (
        "required variable SECRET_KEY is missing a value: set SECRET_KEY to 50+ random characters"
    )


def test_every_dollar_meant_for_a_shell_is_escaped():
    """Compose also replaces a bare $NAME (with the host's value, or nothing): `$$` keeps it."""
    lines = [line for line in compose_text().splitlines() if not line.lstrip().startswith("#")]
    bare = re.findall(r"(?<!\$)\$[A-Za-z_][A-Za-z0-9_]*", "\n".join(lines).replace("$$", ""))
    assert not bare


def test_interpolation_keeps_escaped_dollars_and_applies_defaults():
    assert interpolate("a $$HOSTNAME ${X:-d} ${Y:-d} ${Z}", {"Y": "y"}) == "a $HOSTNAME d y "
    services = rendered()["services"]
    web = services["web"]["environment"]
    assert web["SITE_URL"] == "https://localhost"
    assert web["CSRF_TRUSTED_ORIGINS"] == "https://localhost"
    assert web["ALLOWED_HOSTS"] == "localhost"
    assert web["WEB_CONCURRENCY"] == "3"
    assert services["worker"]["healthcheck"]["test"][1].endswith("celery@$HOSTNAME --timeout 10")
    host = rendered({**TRY_ENV, "SITE_HOST": "rfp.example.org"})["services"]["web"]["environment"]
    assert host["SITE_URL"] == "https://rfp.example.org"
    assert host["ALLOWED_HOSTS"] == "rfp.example.org"


def test_the_rendered_environment_passes_the_production_settings(tmp_path, monkeypatch):
    """What compose hands the containers is accepted by settings.py as it stands."""
    from proposals import receipt_signing
    from rfp_portal import config

    env = dict(rendered()["services"]["web"]["environment"])
    env["RECEIPT_KEYS_DIR"] = str(tmp_path / "receipt-keys")
    receipt_signing.create_key(tmp_path / "receipt-keys")
    env.update(VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path / "s"))
    monkeypatch.setattr(config, "current", lambda: env)
    settings = runpy.run_path(str(ROOT / "rfp_portal" / "settings.py"))
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings["ALLAUTH_TRUSTED_PROXY_COUNT"] == 1
    assert (
        settings["STORAGES"]["default"]["OPTIONS"]["endpoint_url"] == "http://minio.localhost:9000"
    )
    assert settings["MAILERS"]["default"]["OPTIONS"]["host"] == "mailpit"
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["ALLOWED_HOSTS"] == ["localhost"]


def test_the_web_health_check_is_answered_over_plain_http_by_the_address_it_uses(client, settings):
    """The probe asks http://127.0.0.1:8000/health/live/: not an allowed host, not https."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["localhost"]
    probe = " ".join(compose()["services"]["web"]["healthcheck"]["test"])
    url = re.search(r"'(http://[^']+)'", probe).group(1)
    host, path = re.match(r"http://([^/]+)(/.*)", url).groups()
    assert (host, path) == ("127.0.0.1:8000", "/health/live/")
    response = client.get(path, HTTP_HOST=host)
    assert response.status_code == 200
    # Any other page from the same address is refused or redirected: the exemption is the probe's.
    other = client.get("/", HTTP_HOST=host)
    assert other.status_code in (301, 400)


def test_caddy_terminates_tls_in_front_of_every_web_node():
    parsed = rendered()
    services = parsed["services"]
    web = services["web"]
    assert "ports" not in web and web["expose"] == ["8000"]
    assert "--forwarded-allow-ips" in web["command"]
    caddy = services["caddy"]
    assert caddy["image"].startswith("caddy:2")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "caddy-data:/data" in caddy["volumes"]
    assert caddy["configs"] == [{"source": "caddyfile", "target": "/etc/caddy/Caddyfile"}]
    caddyfile = parsed["configs"]["caddyfile"]["content"]
    assert "\nlocalhost {\n" in caddyfile
    assert "tls internal" in caddyfile
    # Every address of `web` is an upstream, looked up again as containers come and go.
    assert re.search(r"dynamic a \{\s*name web\s*port 8000\s*refresh \d+s", caddyfile)
    assert ":2080 {" in caddyfile and "2080" in " ".join(caddy["healthcheck"]["test"])
    public = rendered({**TRY_ENV, "SITE_HOST": "rfp.example.org", "CADDY_TLS": "ops@example.org"})
    caddyfile = public["configs"]["caddyfile"]["content"]
    assert "\nrfp.example.org {\n" in caddyfile and "tls ops@example.org" in caddyfile


def test_dockerfile_installs_the_hashed_lock_file_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.13" in text
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    assert "pip install -r" not in text
    assert "collectstatic" in text and "gunicorn" in text
    assert "\nUSER portal\n" in text
    assert "HEALTHCHECK" in text and "/health/live/" in text
    assert "--workers" not in text  # gunicorn reads WEB_CONCURRENCY
    lock = (ROOT / "requirements.lock").read_text()
    assert "--hash=sha256:" in lock


def test_the_image_build_gives_the_production_settings_all_they_require(tmp_path, monkeypatch):
    """collectstatic runs at build time under production settings: with these values only."""
    from proposals import receipt_signing
    from rfp_portal import config

    text = (ROOT / "Dockerfile").read_text()
    step = text[text.index("RUN export ") : text.index("&& python manage.py receipt_key create")]
    env = dict(re.findall(r"\b([A-Z_]+)=(\S+)", step))
    assert env["DJANGO_ENV"] == "production" and env["SECRET_KEY"].startswith("build-only-$(")
    env["SECRET_KEY"] = "build-only-" + "Zq8wX2vB7nM4kL1pR6tY9uE3aS5dF0gH" * 2
    env["RECEIPT_KEYS_DIR"] = str(tmp_path / "build-keys")  # the step makes a throwaway key
    receipt_signing.create_key(tmp_path / "build-keys")
    env.update(VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path / "s"))
    monkeypatch.setattr(config, "current", lambda: env)
    settings = runpy.run_path(str(ROOT / "rfp_portal" / "settings.py"))
    assert settings["PRODUCTION"] is True
    assert "rm -rf /tmp/build-keys" in text


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
