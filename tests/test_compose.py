"""No Docker engine runs here, so the compose file's structure is what we can check."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_the_app_against_a_healthy_postgres_and_mailpit():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) >= {"app", "db", "mail"}
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["app"]["build"] == "."
    assert "mailpit" in services["mail"]["image"]
    env = services["app"]["environment"]
    assert env["XZNEWS_DATABASE_URL"].startswith("postgresql://")
    assert env["XZNEWS_SMTP_HOST"] == "${XZNEWS_SMTP_HOST:-mail}"  # Mailpit unless .env names a real server
    # Required secrets fail loudly instead of defaulting to something guessable.
    assert ":?" in services["db"]["environment"]["POSTGRES_PASSWORD"]


def test_dockerfile_installs_the_built_wheel_and_runs_the_daemon():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip wheel" in text and "xznews-*.whl" in text and "[postgres]" in text
    assert "pip install -e" not in text and "COPY config" not in text  # not editable, config not baked
    assert 'CMD ["run"]' in text and 'ENTRYPOINT ["xznews"]' in text


def test_compose_reads_env_file_mounts_config_and_checks_the_app_health():
    app = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["app"]
    assert app["env_file"] == ".env"
    assert "./config:/config:ro" in app["volumes"] and app["environment"]["XZNEWS_CONFIG_DIR"] == "/config"
    assert "/healthz" in " ".join(app["healthcheck"]["test"])


def test_mailpit_is_pinned_and_bound_to_loopback():
    mail = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["mail"]
    assert not mail["image"].endswith(":latest") and ":" in mail["image"]
    assert all(str(p).startswith("127.0.0.1:") for p in mail.get("ports", []))


def test_the_real_smtp_path_is_documented_beside_mailpit():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "Real SMTP instead of Mailpit" in compose and "XZNEWS_SMTP_SECURITY" in example


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "var", "*.db"} <= set(lines)


def test_ci_changes_no_postgresql_it_did_not_start_and_honours_the_test_url():
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "XZNEWS_TEST_DATABASE_URL:-" in text
    # The only ALTER USER is inside the branch for a server the script started itself.
    before, _, _after = text.partition("ALTER USER")
    assert 'if [ "$started_here" != 1 ]' in before
    assert text.index("--upgrade pip") < text.index("pip install --quiet -e")


def test_env_example_lists_the_secrets_without_values():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD=" in text and "XZNEWS_SMTP_PASSWORD" in text
