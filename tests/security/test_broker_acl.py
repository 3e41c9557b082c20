"""An agent's broker credentials take its own jobs and nothing else (issue 27, Critical).

A real redis-server with ACLs (an ACL file, as compose runs it); the site holds the admin user,
rq lives in database 1 under the site's user, each agent gets its own user from
apps/devices/broker.py. A Celery worker configured as the agent's (its transport, its options)
consumes a job the site sent; with the same credentials, rq's queue, another agent's queue,
pub/sub and other databases answer NOPERM."""

import queue
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from kombu import Connection

from apps.devices import broker
from apps.jobs.messaging import _publish
from tests.factories import make_agent

# Celery's Django fix-up closes the database connection when a worker starts: no test transaction.
# It starts a redis-server and a Celery worker thread, which under an xdist worker never came up: a
# lane of its own in `make test`.
pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.solo, pytest.mark.django_db(transaction=True)]

ADMIN_PASSWORD = "site-admin-pw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def acl_redis(tmp_path):
    """redis-server on a free loopback port, with an ACL file: the default user off, the site's
    user allowed everything."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    acl = tmp_path / "users.acl"
    acl.write_text(f"user default off\nuser qingka on >{ADMIN_PASSWORD} ~* &* +@all\n")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""]
        + ["--appendonly", "no", "--aclfile", str(acl)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = redis.Redis(host="127.0.0.1", port=port, username="qingka", password=ADMIN_PASSWORD)
    for _ in range(100):
        try:
            admin.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    try:
        yield port, acl
    finally:
        proc.terminate()
        proc.wait(10)


def _agent_client(agent, port, db=0):
    return redis.Redis(
        host="127.0.0.1", port=port, db=db, username=broker.user_name(agent), password=broker.password(agent)
    )


class _Recorder:
    """Stands in for qingka_agent.worker.Agent: records the job messages its task is handed."""

    def __init__(self):
        self.received: queue.Queue = queue.Queue()

    def handle(self, job_id, attempt, signature):
        self.received.put((job_id, attempt, signature))


@pytest.fixture
def agent_worker_app():
    """The agent's own Celery app and task (qingka_agent.worker), its settings put back after."""
    from qingka_agent import worker as agent_worker

    saved = {key: agent_worker.app.conf[key] for key in ("broker_url", "broker_transport_options")}
    recorder = _Recorder()
    agent_worker.install(recorder)  # type: ignore[arg-type]
    try:
        yield agent_worker, recorder
    finally:
        agent_worker.install(None)  # type: ignore[arg-type]
        agent_worker.app.conf.update(saved)


def test_an_agents_credentials_take_its_own_jobs_and_nothing_else(acl_redis, agent_worker_app, settings):
    port, acl_file = acl_redis
    site_broker = f"redis://qingka:{ADMIN_PASSWORD}@127.0.0.1:{port}/0"
    settings.CELERY_BROKER_URL = site_broker
    settings.REDIS_URL = f"redis://qingka:{ADMIN_PASSWORD}@127.0.0.1:{port}/1"
    settings.QINGKA_BROKER_ADMIN_URL = ""
    settings.QINGKA_AGENT_BROKER_URL = ""
    agent, _ = make_agent(name="甲")
    other, _ = make_agent(name="乙")
    # The registration path: the site makes each agent's user (and saves the ACL file).
    broker.ensure_agent_user(agent)
    broker.ensure_agent_user(other)
    assert broker.user_name(agent) in Path(acl_file).read_text()

    # The site sends a job to each agent's queue, as messaging.send_messages does.
    with Connection(site_broker) as conn:
        producer = conn.Producer()
        _publish(producer, agent.queue_name, [101, 1, "sig-a"])
        _publish(producer, other.queue_name, [202, 1, "sig-b"])

    # A real Celery worker with the agent's own URL takes its job.
    url = broker.agent_broker_url(agent, site_broker)
    assert f"{broker.user_name(agent)}:" in url and ADMIN_PASSWORD not in url
    agent_worker, recorder = agent_worker_app
    agent_worker.app.conf.update(
        broker_url=url, broker_transport_options=agent_worker.agent_transport_options(agent.queue_name)
    )
    with start_worker(
        agent_worker.app, pool="solo", perform_ping_check=False, queues=[agent.queue_name], shutdown_timeout=20
    ):
        assert recorder.received.get(timeout=15) == (101, 1, "sig-a")
    assert recorder.received.empty()

    mine = _agent_client(agent, port)
    # Not the site's rq: enqueue into `default` fails, in the broker's database and in rq's.
    import rq

    with pytest.raises(redis.exceptions.NoPermissionError):
        rq.Queue("default", connection=mine).enqueue("subprocess.check_call", ["true"])
    with pytest.raises((redis.exceptions.NoPermissionError, redis.ConnectionError)):
        rq.Queue("default", connection=_agent_client(agent, port, db=1)).enqueue("subprocess.check_call", ["true"])
    # Not another agent's queue, its bindings or its unacked messages.
    for command in (
        ("RPOP", other.queue_name),
        ("LLEN", other.queue_name),
        ("LPUSH", other.queue_name, "x"),
        ("DEL", other.queue_name),
        ("SMEMBERS", f"_kombu.binding.{other.queue_name}"),
        ("HGETALL", f"{other.queue_name}.unacked"),
        ("HGETALL", "unacked"),
        ("KEYS", "*"),
        ("FLUSHDB",),
        ("CONFIG", "GET", "*"),
        ("ACL", "LIST"),
        ("PUBLISH", "/0.celery.pidbox", "x"),
        ("CLIENT", "LIST"),
        ("SELECT", "1"),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            mine.execute_command(*command)
    # An agent whose number begins with this one's: still not its keys.
    with pytest.raises(redis.exceptions.NoPermissionError):
        mine.execute_command("LLEN", f"{agent.queue_name}0")
    # The other agent's job is still there, for it alone.
    site = redis.Redis.from_url(site_broker)
    assert site.llen(other.queue_name) == 1
    assert _agent_client(other, port).llen(other.queue_name) == 1

    # A new token: the old password no longer opens the door.
    agent.set_new_token()
    agent.save()
    broker.ensure_agent_user(agent)
    with pytest.raises(redis.exceptions.AuthenticationError):
        mine.connection_pool.disconnect()
        mine.ping()

    # A Redis that lost its users gets them back from the database; a removed agent's user goes.
    site.execute_command("ACL", "DELUSER", broker.user_name(agent))
    other_pk = other.pk
    other.delete()
    call_command("broker_users")
    users = {u.decode() for u in site.execute_command("ACL", "USERS")}
    assert broker.user_name(agent) in users and f"agent-{other_pk}" not in users
    assert _agent_client(agent, port).ping()


def test_a_site_broker_of_the_agents_is_never_the_rq_redis(settings):
    from apps.core.checks import broker_is_not_rq

    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://:pw@redis:6379/0"
    assert [e.id for e in broker_is_not_rq(None)] == ["qingka.E007"]
    settings.CELERY_BROKER_URL = "redis://:pw@redis:6379/0/"
    assert [e.id for e in broker_is_not_rq(None)] == ["qingka.E007"]  # the same place, spelt differently
    settings.CELERY_BROKER_URL = "redis://qingka:pw@redis:6379/0"
    settings.REDIS_URL = "redis://qingka:pw@redis:6379/1"
    assert broker_is_not_rq(None) == []
