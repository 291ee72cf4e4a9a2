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
    assert env["XZNEWS_SMTP_HOST"] == "mail"
    # Required secrets fail loudly instead of defaulting to something guessable.
    assert ":?" in services["db"]["environment"]["POSTGRES_PASSWORD"]


def test_dockerfile_installs_the_package_and_runs_the_daemon():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install" in text and "[postgres]" in text
    assert 'CMD ["run"]' in text and 'ENTRYPOINT ["xznews"]' in text


def test_env_example_lists_the_secrets_without_values():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD=" in text and "XZNEWS_SMTP_PASSWORD" in text
