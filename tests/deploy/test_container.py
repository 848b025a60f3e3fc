"""The Dockerfile and compose.yaml, tested as far as a machine without Docker can: their files and
settings are read as Docker reads them, and every command they run is run here, the real `collab`
with the image's ENTRYPOINT, against a real database (SQLite, and PostgreSQL when configured),
until it serves /healthz (and the image's HEALTHCHECK command agrees) or its scheduler has started.
The image itself is not built here: there is no Docker engine (docs/deploy.md says so)."""
from __future__ import annotations

import fnmatch
import json
import shlex
import signal
import subprocess
import time
from pathlib import Path

import requests
import yaml
from alembic import command

from models.db import alembic_config, make_engine
from tests.bot.test_serve import READY_SECONDS, SECRET, clean_env, collab, free_port

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "clock")


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), " ".join(rest.split())))
        pending = ""
    return instructions


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_image_is_slim_python_311_in_two_stages_and_runs_as_a_user():
    steps = dockerfile()
    args = dict(a.split("=", 1) for word, a in steps if word == "ARG" and "=" in a)
    bases = [a.split()[0].replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) for word, a in steps if word == "FROM"]
    assert len(bases) == 2 and all(base == "python:3.11-slim" for base in bases)
    users = [a for word, a in final_stage() if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert not any(word == "COPY" and "requirements.lock" in a for word, a in final_stage())  # no build inputs at run time


def test_the_image_installs_only_the_hashed_lock_then_collab_itself():
    runs = [a for word, a in dockerfile() if word == "RUN"]
    lock_install = [r for r in runs if "-r requirements.lock" in r]
    assert len(lock_install) == 1 and "--require-hashes" in lock_install[0] and "--only-binary=:all:" in lock_install[0]
    project_install = [r for r in runs if "pip install --no-deps --no-build-isolation ." in r]
    assert len(project_install) == 1
    assert not [r for r in runs if "pip install" in r and r not in lock_install + project_install]


def test_everything_the_dockerfile_copies_exists_and_is_not_ignored():
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    for word, arguments in dockerfile():
        if word != "COPY" or arguments.startswith("--from"):
            continue
        for source in arguments.split()[:-1]:
            assert (ROOT / source).exists(), source
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored if not pattern.startswith("!")), source
    for secret in (".env", "collab.db", ".git", ".venv"):
        assert any(fnmatch.fnmatch(secret, p) for p in ignored), f"{secret} would be sent to the build"


def entrypoint() -> list[str]:
    (value,) = [a for word, a in final_stage() if word == "ENTRYPOINT"]
    return json.loads(value)


def healthcheck_command() -> str:
    (value,) = [a for word, a in final_stage() if word == "HEALTHCHECK"]
    assert "CMD " in value
    return value.split("CMD ", 1)[1]


def test_the_compose_file_runs_postgres_then_the_migration_then_web_and_clock():
    services = compose()["services"]
    assert set(services) == {"db", *APP_SERVICES}
    assert services["db"]["image"].startswith("postgres:") and "healthcheck" in services["db"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "clock"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for name in APP_SERVICES:
        assert services[name]["build"] == "." and "@db:5432/" in services[name]["environment"]["DATABASE_URL"]
    assert services["clock"]["healthcheck"] == {"disable": True} == services["migrate"]["healthcheck"]
    assert services["web"]["ports"] == ["${COLLAB_PUBLISH:-127.0.0.1:3000}:3000"]
    assert services["web"]["environment"]["PORT"] == "3000"


def service_argv(name: str) -> list[str]:
    """The container's argv for a service (ENTRYPOINT + command), with `collab` this venv's script."""
    argv = entrypoint() + compose()["services"][name]["command"]
    assert argv[0] == "collab"
    return collab() + argv[1:]


def service_env(name: str, database_url: str, port: int) -> dict:
    """The service's environment as compose gives it, with this test's database and a free port."""
    values = dict(compose()["services"][name]["environment"])
    values.update(DATABASE_URL=database_url, PORT=str(port))
    # what .env would hold (compose's env_file), minus Slack's real address
    return clean_env(**values, SLACK_BOT_TOKEN="xoxb-compose-test", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_API_URL="http://127.0.0.1:9/api/", WEB_CONCURRENCY="1")


def run_healthcheck(port: int) -> int:
    env = clean_env(PORT=str(port))
    return subprocess.run(["/bin/sh", "-c", healthcheck_command()], env=env, capture_output=True, timeout=30).returncode


def wait_for(predicate, process, log, what: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not predicate():
        assert process.poll() is None, f"exited {process.returncode} before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"not {what} within {READY_SECONDS}s:\n{log.read_text()}"
        time.sleep(0.2)


def healthz(port: int) -> int | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    except requests.RequestException:
        return None


def test_each_services_command_starts_as_compose_would_run_it(empty_database_url, tmp_path):
    port = free_port()

    migrate = subprocess.run(service_argv("migrate"), env=service_env("migrate", empty_database_url, port),
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert "Database is at migration" in migrate.stdout

    web_log, clock_log = tmp_path / "web.log", tmp_path / "clock.log"
    with open(web_log, "wb") as web_out, open(clock_log, "wb") as clock_out:
        web = subprocess.Popen(service_argv("web"), env=service_env("web", empty_database_url, port), cwd=tmp_path,
                               stdout=web_out, stderr=subprocess.STDOUT)
        clock = subprocess.Popen(service_argv("clock"), env=service_env("clock", empty_database_url, port),
                                 cwd=tmp_path, stdout=clock_out, stderr=subprocess.STDOUT)
    engine = make_engine(empty_database_url)
    try:
        wait_for(lambda: healthz(port) == 200, web, web_log, "serving /healthz with 200")
        assert run_healthcheck(port) == 0
        wait_for(lambda: "Scheduler started" in clock_log.read_text(), clock, clock_log, "scheduler started")

        # The schema goes from under the running server (a restore from an old backup, say):
        command.downgrade(alembic_config(engine), "base")
        assert healthz(port) == 503
        assert run_healthcheck(port) != 0  # Docker would now mark the container unhealthy
        # ... and the migration is run again (in-process: the migrate service's own process ran above,
        # from this same empty schema): the running server is healthy again without a restart.
        command.upgrade(alembic_config(engine), "head")
        assert healthz(port) == 200 and run_healthcheck(port) == 0
    finally:
        for process in (web, clock):
            process.send_signal(signal.SIGTERM)  # what `docker compose stop` sends
        codes = [process.wait(timeout=60) for process in (web, clock)]
        engine.dispose()
    assert codes == [0, 0], web_log.read_text() + clock_log.read_text()
    for log in (web_log, clock_log):  # the schema checks (start-up, every /healthz) add nothing to the logs
        assert "alembic" not in log.read_text(), log.read_text()


def test_the_healthcheck_fails_when_nothing_listens():
    assert run_healthcheck(free_port()) != 0


def test_the_procfile_runs_the_same_commands():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert shlex.split(procfile["release"])[1:] == compose()["services"]["migrate"]["command"]
    assert shlex.split(procfile["clock"])[1:] == compose()["services"]["clock"]["command"]
    assert shlex.split(procfile["web"])[1] == compose()["services"]["web"]["command"][0]
