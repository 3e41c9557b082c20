"""Getting the agent onto an office PC: `init`, `check` with USB, the systemd unit and udev rules
of `install-service`, and the logs."""

import json
import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from agent_fakes import TOKEN
from qingka_agent import cli, logs
from qingka_agent.config import load
from qingka_agent.linux import journal, service
from qingka_agent.usb import USB_KINDS

BIN = Path(sys.executable).parent
UMOCKDEV = Path(__file__).with_name("umockdev") / "cabinet.umockdev"


@pytest.fixture(autouse=True)
def no_agent_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("QINGKA_"):
            monkeypatch.delenv(name)


def test_init_writes_a_config_file_that_run_and_check_read(tmp_path, site, capsys):
    path = tmp_path / "agent.toml"
    argv = ["init", "--config", str(path), "--site", site.url + "/", "--token", TOKEN, "--drivers", "command"]
    assert cli.main([*argv, "--broker", "redis://:pw@127.0.0.1:6379/15", "--command", "/opt/bridge --quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {path}", f"next: qingka-agent check --config {path}"]
    assert path.stat().st_mode & 0o777 == 0o600  # the token is inside
    config = load(path, env={})
    assert (config.site_url, config.token, config.broker_url) == (site.url, TOKEN, "redis://:pw@127.0.0.1:6379/15")
    assert config.drivers == ("command",) and config.command == ("/opt/bridge", "--quiet")

    assert cli.main(argv) == 2  # never overwrites by accident
    assert "exists already" in capsys.readouterr().err
    assert cli.main([*argv, "--force"]) == 0
    assert load(path, env={}).broker_url == "redis://127.0.0.1:6379/0"  # the site's host by default


def test_init_takes_the_agents_own_broker_credentials(tmp_path, site):
    """The agent's own Redis user (issue 27): given apart from the address, written into its URL."""
    path = tmp_path / "agent.toml"
    argv = ["init", "--config", str(path), "--site", site.url, "--token", TOKEN, "--broker", "redis://q.example:6379/0"]
    assert cli.main([*argv, "--broker-user", "agent-3", "--broker-password", "p/w@x"]) == 0
    assert load(path, env={}).broker_url == "redis://agent-3:p%2Fw%40x@q.example:6379/0"


@pytest.mark.parametrize(
    "args, error",
    [
        (["--site", "qingka.example.com", "--token", "t"], "--site must be the site's address"),
        (["--site", "https://qingka.example.com", "--token", " "], "--token is empty"),
        (["--site", "https://q.example.com", "--token", "t", "--broker", "amqp://q"], "--broker must be a redis"),
        (["--site", "https://q.example.com", "--token", "t", "--broker-user", "agent-3"], "go together"),
        (
            ["--site", "https://q.example.com", "--token", "t", "--broker", "redis://a:b@q:6379/0"]
            + ["--broker-user", "agent-3", "--broker-password", "pw"],
            "either in --broker",
        ),
    ],
)
def test_init_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, error):
    path = tmp_path / "agent.toml"
    assert cli.main(["init", "--config", str(path), *args]) == 2
    assert error in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.usb
def test_check_tests_usb_access_too(tmp_path, site):
    """Under an emulated USB tree: the devices are found; the emulation answers no control
    request, so opening them fails, and check says so per slot and fails."""
    path = tmp_path / "agent.toml"
    assert (
        cli.main(
            [
                "init",
                "--config",
                str(path),
                "--site",
                site.url,
                "--token",
                TOKEN,
                "--broker",
                "redis://127.0.0.1:6379/15",
            ]
        )
        == 0
    )
    umockdev_run = shutil.which("umockdev-run")
    assert umockdev_run, "apt-get install umockdev (.ci/apt-packages.txt)"
    result = subprocess.run(
        [umockdev_run, "--device", str(UMOCKDEV), "--", str(BIN / "qingka-agent"), "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert [line[0] for line in lines[:3]] == ["✓", "✓", "✓"]
    assert lines[3] == "✓ USB: 4 tax-control device(s) found"
    assert sorted(re.findall(r"at ([\d.-]+):", "\n".join(lines[4:]))) == ["1-1.4.2", "1-1.4.3", "1-2", "2-1"]
    assert all("install-service" in line for line in lines[4:])


def unit_file(tmp_path) -> Path:
    config = tmp_path / "etc" / "qingka-agent" / "agent.toml"
    assert cli.main(["install-service", "--root", str(tmp_path), "--config", str(config)]) == 0
    return tmp_path / "etc" / "systemd" / "system" / "qingka-agent.service"


def test_install_service_writes_the_shipped_unit_and_udev_rules_and_uninstall_removes_them(tmp_path, capsys):
    unit = unit_file(tmp_path)
    rules = tmp_path / "etc" / "udev" / "rules.d" / "70-qingka-agent.rules"
    assert capsys.readouterr().out.splitlines() == [f"wrote {unit}", f"wrote {rules}"]
    text = unit.read_text()
    executable = BIN / "qingka-agent"
    assert f"ExecStart={executable} --config {tmp_path}/etc/qingka-agent/agent.toml run --system-log" in text
    assert "@" not in text.replace("multi-user", "")
    assert cli.main(["uninstall-service", "--root", str(tmp_path)]) == 0
    assert not unit.exists() and not rules.exists()


def test_udev_rules_cover_exactly_the_devices_of_the_domain_file():
    rules = [line for line in service.shipped("70-qingka-agent.rules").splitlines() if not line.startswith("#")]
    pattern = (
        r'SUBSYSTEM=="usb", ENV\{DEVTYPE\}=="usb_device", ATTR\{idVendor\}=="([0-9a-f]{4})", '
        r'ATTR\{idProduct\}=="([0-9a-f]{4})", MODE="0660", GROUP="qingka-agent"'
    )
    ids = [re.fullmatch(pattern, line).groups() for line in rules]
    assert sorted((int(v, 16), int(p, 16)) for v, p in ids) == sorted(USB_KINDS)
    # and USB_KINDS is the table of docs/domain.md
    domain = (Path(__file__).parents[2] / "docs" / "domain.md").read_text()
    table = domain[domain.index("### USB identities") :].split("\n\n")[0]
    documented = {(int(v, 16), int(p, 16)) for v, p in re.findall(r"\b([0-9a-f]{4}):([0-9a-f]{4})\b", table)}
    assert documented == set(USB_KINDS)


def test_the_unit_is_valid(tmp_path):
    """systemd-analyze verify where systemd is installed; otherwise parse it as systemd would."""
    unit = unit_file(tmp_path)
    analyze = shutil.which("systemd-analyze")
    if analyze:
        result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
        problems = [line for line in result.stderr.splitlines() if "qingka-agent.service" in line]
        assert result.returncode == 0 and not problems, result.stderr
    sections: dict[str, dict[str, str]] = {}
    for line in unit.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if header := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(header[1], {})
        else:
            key, value = line.split("=", 1)
            current[key] = value
    assert set(sections) == {"Unit", "Service", "Install"}
    assert Path(sections["Service"]["ExecStart"].split()[0]).is_file()
    assert sections["Service"]["User"] == service.USER and sections["Install"]["WantedBy"] == "multi-user.target"


def test_json_lines_to_a_rotating_file(tmp_path):
    log_file = tmp_path / "logs" / "agent.log"
    logs.setup(logging.INFO, "json", log_file)
    try:
        logging.getLogger("qingka_agent.worker").info("job %s attempt %s device %s: succeeded", 7, 1, "539912237528")
        handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.handlers.RotatingFileHandler))
        assert (handler.maxBytes, handler.backupCount) == (logs.FILE_BYTES, logs.FILE_BACKUPS)
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    [line] = log_file.read_text().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "qingka_agent.worker"
    assert record["message"] == "job 7 attempt 1 device 539912237528: succeeded" and "timestamp" in record


def test_journal_gets_each_record_with_its_priority(tmp_path):
    path = tmp_path / "journal.socket"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journald:
        journald.bind(str(path))
        handler = journal.JournalHandler(path)
        handler.setFormatter(logs.formatter("json"))
        logger = logging.getLogger("qingka_agent.test_journal")
        logger.addHandler(handler)
        try:
            logger.warning("第一行\nsecond line")
        finally:
            logger.removeHandler(handler)
            handler.close()
        datagram = journald.recv(65536)
    fields = parse_journal(datagram)
    assert fields["PRIORITY"] == "4" and fields["SYSLOG_IDENTIFIER"] == "qingka-agent"
    assert fields["LOGGER"] == "qingka_agent.test_journal"
    assert json.loads(fields["MESSAGE"])["message"] == "第一行\nsecond line"


def parse_journal(data: bytes) -> dict[str, str]:
    """The native journal protocol: NAME=value lines, or NAME, a 64-bit length and the value."""
    fields = {}
    while data:
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            name, value = line.split(b"=", 1)
            data = rest
        else:
            (size,) = struct.unpack("<Q", rest[:8])
            name, value, data = line, rest[8 : 8 + size], rest[9 + size :]
        fields[name.decode()] = value.decode()
    return fields


def test_system_log_without_a_journal_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(journal, "SOCKET", tmp_path / "missing")
    assert cli.main(["devices", "--system-log"]) == 2
    assert "no systemd journal here" in capsys.readouterr().err
