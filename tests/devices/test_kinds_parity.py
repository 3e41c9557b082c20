"""The agent is its own package and keeps its own copies of the site's kinds, by value only (it
has no Django): here they are held equal, as the error codes are (tests/jobs/test_transitions.py)."""

from qingka_agent.drivers.base import KIND_NAMES
from qingka_agent.drivers.simulated import DEFAULT_PASSWORDS as SIMULATED_PASSWORDS
from qingka_agent.worker import KINDS as AGENT_JOB_KINDS

from apps.devices.models import DEFAULT_PASSWORDS, DeviceKind
from apps.jobs.models import JobKind


def test_the_agent_names_the_device_kinds_the_site_has():
    assert KIND_NAMES == {kind.value: str(kind.label) for kind in DeviceKind}


def test_the_simulated_devices_come_with_the_factory_passwords_the_site_assumes():
    assert SIMULATED_PASSWORDS == {str(kind): passwords for kind, passwords in DEFAULT_PASSWORDS.items()}


def test_the_agent_runs_every_kind_of_job_the_site_makes():
    assert set(AGENT_JOB_KINDS) == set(JobKind.values)
