"""qingka.run_job: signature, claim, the device operation, the result through the outbox."""

import threading
import time

import pytest
import redis
from agent_fakes import (
    BROKER,
    CERT_PASSWORD,
    CLEAR_DUE,
    DEVICE_PASSWORD,
    DONE,
    SHARES_BROKER,
    SUMMARY_DUE,
    TOKEN,
    FakeDriver,
    FakeSite,
)
from celery.contrib.testing.worker import start_worker
from celery.exceptions import Retry
from kombu import Connection
from qingka_agent import broker, worker
from qingka_agent.client import SiteClient
from qingka_agent.config import load
from qingka_agent.drivers.base import DeviceError, Secrets
from qingka_agent.inventory import Inventory
from qingka_agent.outbox import Outbox
from qingka_agent.signing import sign, signing_key

KEY = signing_key(TOKEN)
NUMBER = "539912237528"
pytestmark = SHARES_BROKER


def make_agent(site, tmp_path, driver):
    inventory = Inventory([driver])
    inventory.scan()
    return worker.Agent(SiteClient(site.url, TOKEN), Outbox(tmp_path / "outbox.sqlite3"), inventory, KEY)


def run(agent, job_id, attempt=1, signature=None):
    agent.handle(job_id, attempt, signature or sign(KEY, job_id, attempt))
    agent.drain()  # results are sent from a thread of their own


def test_clear_due_is_cleared_and_reported(site, tmp_path, caplog):
    caplog.set_level("DEBUG")
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    agent = make_agent(site, tmp_path, driver)
    site.add_job(7, "clear", NUMBER)
    run(agent, 7)
    # The scan's reading says the clear is due: no read before acting.
    assert driver.calls == [("clear", NUMBER, "2026-10", CERT_PASSWORD, DEVICE_PASSWORD)]
    assert site.claims() == [[7]] and site.reported() == [[7]]
    result = site.results()[7]
    assert result["attempt"] == 1 and result["outcome"] == "succeeded" and result["already_done"] is False
    assert result["error_code"] is None and result["monitoring"]["clear_count"] == 1
    assert result["started_at"] <= result["finished_at"]
    assert agent.outbox.pending() == []
    assert CERT_PASSWORD not in caplog.text and DEVICE_PASSWORD not in caplog.text
    assert CERT_PASSWORD not in (tmp_path / "outbox.sqlite3").read_bytes().decode("utf-8", "replace")


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 64,
        sign(signing_key("another-agent-token"), 7, 1),  # signed for another agent
        sign(KEY, 7, 2),  # signed for another attempt
        "签名",
    ],
)
def test_bad_signature_is_dropped_without_claim(site, tmp_path, signature):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    site.add_job(7, "clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7, signature=signature)
    assert site.calls == [] and driver.calls == []


@pytest.mark.parametrize("status", [409, 404])
def test_unclaimable_job_leaves_the_device_alone(site, tmp_path, status):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    site.add_job(7, "clear", NUMBER)
    site.claim_status[7] = status
    run(make_agent(site, tmp_path, driver), 7)
    assert site.paths() == ["jobs/claim/"]
    assert driver.calls == []


def test_already_cleared_device_is_not_cleared_again(site, tmp_path):
    driver = FakeDriver({NUMBER: DONE})
    site.add_job(7, "clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.operations() == []
    result = site.results()[7]
    assert result["outcome"] == "succeeded" and result["already_done"] is True
    assert result["monitoring"]["kpjzsj"] == "2026-12-15"


def test_without_a_known_reading_the_device_is_read_first(site, tmp_path):
    driver = FakeDriver({NUMBER: DONE})
    agent = make_agent(site, tmp_path, driver)
    agent.inventory._readings.clear()  # e.g. a driver whose scan reads no monitoring data
    site.add_job(7, "clear", NUMBER)
    run(agent, 7)
    assert driver.operations() == ["read_status"]
    assert site.results()[7]["already_done"] is True


def test_a_stale_reading_repeats_nothing_the_device_did(site, tmp_path):
    """The scan saw the clear due, the device cleared since (a job before a crash): the device
    reports the repeat, and the job is done without a second clear being counted."""
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    agent = make_agent(site, tmp_path, driver)
    driver.devices[NUMBER].update(DONE)
    driver.extra["clear"] = {"already_done": True, "raw_code": "0x09d118"}
    site.add_job(7, "clear", NUMBER)
    run(agent, 7)
    assert site.results()[7]["already_done"] is True


def test_repeat_reported_by_the_device_is_already_done(site, tmp_path):
    driver = FakeDriver({NUMBER: {"zxbsrq": "2026-11-02"}})  # kpjzsj unreadable: ask the device
    driver.extra["clear"] = {"already_done": True, "raw_code": "0x09d118"}
    site.add_job(7, "clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.operations() == ["clear"]
    result = site.results()[7]
    assert (result["outcome"], result["already_done"], result["raw_code"]) == ("succeeded", True, "0x09d118")
    assert "already_done" not in result["monitoring"] and "raw_code" not in result["monitoring"]


@pytest.mark.parametrize("state", [CLEAR_DUE, DONE])
def test_summary_already_done_is_not_repeated(site, tmp_path, state):
    driver = FakeDriver({NUMBER: state})
    site.add_job(7, "upload_summary", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.operations() == []
    assert site.results()[7]["already_done"] is True


def test_upload_and_clear_runs_summary_then_clear(site, tmp_path):
    driver = FakeDriver({NUMBER: SUMMARY_DUE})
    site.add_job(7, "upload_and_clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.operations() == ["upload_summary", "clear"]  # two device operations, not three
    result = site.results()[7]
    assert result["already_done"] is False
    assert result["monitoring"]["summary_count"] == 1 and result["monitoring"]["clear_count"] == 1


def test_read_status_only_reads(site, tmp_path):
    driver = FakeDriver({NUMBER: SUMMARY_DUE})
    site.add_job(7, "read_status", NUMBER, period=None)
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.operations() == ["read_status"]
    assert site.results()[7]["monitoring"]["kpjzsj"] == "2026-11-16"


def test_device_error_is_reported_with_its_code(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    driver.fail["clear"] = DeviceError(
        "CERT_PASSWORD_WRONG", "证书口令错误，剩余3次", raw_code="0x0963c3", monitoring={"cert_tries_left": 3}
    )
    site.add_job(7, "clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    result = site.results()[7]
    assert result["outcome"] == "failed" and result["already_done"] is False
    assert (result["error_code"], result["raw_code"]) == ("CERT_PASSWORD_WRONG", "0x0963c3")
    assert result["message"] == "证书口令错误，剩余3次"
    assert result["monitoring"] == {"cert_tries_left": 3}


def test_unexpected_driver_exception_is_driver_error(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    driver.fail["clear"] = RuntimeError("cable on fire")
    site.add_job(7, "clear", NUMBER)
    run(make_agent(site, tmp_path, driver), 7)
    result = site.results()[7]
    assert result["outcome"] == "failed" and result["error_code"] == "DRIVER_ERROR"
    assert "cable on fire" in result["message"]


def test_device_not_present_is_device_missing(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    site.add_job(7, "clear", "661814461322")
    run(make_agent(site, tmp_path, driver), 7)
    assert driver.calls == []
    assert site.results()[7]["error_code"] == "DEVICE_MISSING"


def test_result_waits_in_outbox_while_site_is_down(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    agent = make_agent(site, tmp_path, driver)
    site.add_job(7, "clear", NUMBER)
    site.result_status = 503
    run(agent, 7)
    assert [(job_id, attempt) for job_id, attempt, _ in agent.outbox.pending()] == [(7, 1)]
    site.result_status = 200
    assert agent.outbox.flush(agent.client) == 0  # the site failed on it: it waits its back-off
    agent.outbox.clock = lambda: time.time() + 10
    assert agent.outbox.flush(agent.client) == 1
    assert agent.outbox.pending() == []
    assert site.reported() == [[7], [7]]
    assert driver.operations() == ["clear"]


def test_the_heartbeat_names_the_jobs_being_worked_on(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE}, slow=0.5)
    agent = make_agent(site, tmp_path, driver)
    site.add_job(7, "clear", NUMBER)
    thread = threading.Thread(target=run, args=(agent, 7))
    thread.start()
    assert site.wait_for(lambda s: [7] in s.claims())
    time.sleep(0.1)
    assert agent.working() == [7]
    thread.join()
    assert agent.working() == []


def test_one_operation_per_device_at_a_time(site, tmp_path):
    driver = FakeDriver({NUMBER: SUMMARY_DUE}, slow=0.2)
    agent = make_agent(site, tmp_path, driver)
    for job_id in (1, 2, 3):
        site.add_job(job_id, "read_status", NUMBER, period=None)
    threads = [threading.Thread(target=run, args=(agent, job_id)) for job_id in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert driver.max_running == 1 and len(driver.calls) == 3


def test_claims_made_while_a_claim_call_is_under_way_go_together_in_the_next(site, tmp_path):
    numbers = [f"5399122376{n:02d}" for n in range(10)]
    agent = make_agent(site, tmp_path, FakeDriver({number: CLEAR_DUE for number in numbers}))
    for job_id, number in enumerate(numbers, start=1):
        site.add_job(job_id, "clear", number)
    site.claim_seconds = 0.5  # the first call is under way while the other nine tasks claim
    threads = [threading.Thread(target=run, args=(agent, job_id)) for job_id in range(1, 11)]
    threads[0].start()
    assert site.wait_for(lambda s: len(s.claims()) == 1)  # received: the site answers 0.5 s later
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(call) for call in site.claims()) == [1, 9]
    assert sorted(job_id for call in site.claims() for job_id in call) == list(range(1, 11))
    assert sorted(site.results()) == list(range(1, 11)) and agent.outbox.pending() == []


def test_task_retries_later_when_the_site_is_down_at_claim(tmp_path, monkeypatch):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    down = FakeSite()
    down.close()  # nothing listens on its port any more
    worker.install(make_agent(down, tmp_path, driver))
    retries = []

    def fake_retry(**options):
        retries.append(options)
        return Retry()

    monkeypatch.setattr(worker.run_job, "retry", fake_retry)
    with pytest.raises(Retry):
        worker.run_job.run(7, 1, sign(KEY, 7, 1))
    assert retries and retries[0]["countdown"] > 0
    assert driver.calls == []


def test_worker_consumes_only_its_own_queue(site, tmp_path):
    """The real Celery path over Redis (DB 15): a message on agent.1 is run, agent.2's is not."""
    broker = BROKER
    redis.Redis.from_url(broker).flushdb()
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    worker.install(make_agent(site, tmp_path, driver))
    worker.configure(load(env={"QINGKA_BROKER_URL": broker, "QINGKA_CONCURRENCY": "2"}))
    site.add_job(7, "clear", NUMBER)
    site.add_job(8, "clear", NUMBER)
    try:
        worker.app.send_task("qingka.run_job", args=[8, 1, sign(KEY, 8, 1)], queue="agent.2")
        with start_worker(
            worker.app, pool="threads", concurrency=2, perform_ping_check=False, queues=["agent.1"], loglevel="WARNING"
        ):
            worker.app.send_task("qingka.run_job", args=[7, 1, sign(KEY, 7, 1)], queue="agent.1")
            assert site.wait_for(lambda s: 7 in s.results())
        assert site.results()[7]["outcome"] == "succeeded"
        assert all(8 not in ids for ids in site.claims())
        assert redis.Redis.from_url(broker).llen("agent.2") == 1
    finally:
        redis.Redis.from_url(broker).flushdb()


def test_what_the_summary_uploaded_is_reported_after_the_clear_that_followed_it():
    summary = {"004": {"count": 1, "amount": "100.00", "tax": "13.00"}}

    class Device:
        def upload_summary(self, number, period, secrets):
            return {**SUMMARY_DUE, "zxbsrq": "2026-11-02", "summary": summary}

        def clear(self, number, period, secrets):
            return {**DONE}

    result = worker._operate(Device(), "upload_and_clear", NUMBER, "2026-10", Secrets(), dict(SUMMARY_DUE))
    assert result["outcome"] == "succeeded" and result["monitoring"]["summary"] == summary
    assert result["monitoring"]["kpjzsj"] == DONE["kpjzsj"]  # the rest is the latest reading


def test_an_invoice_query_reads_the_invoices_and_reports_them_beside_the_reading():
    invoice = {"type": "026", "code": "031260000001", "number": "00000042", "amount": "100.00"}
    asked = []

    class Device:
        def query_invoices(self, number, secrets, query):
            asked.append(query)
            return {**DONE, "invoices": [invoice]}

    result = worker._operate(Device(), "query_invoices", NUMBER, None, Secrets(), dict(DONE), {"month": "2026-11"})
    assert asked == [{"month": "2026-11"}]  # one device operation, no read before it
    assert result["outcome"] == "succeeded" and result["invoices"] == [invoice]
    assert "invoices" not in result["monitoring"] and result["monitoring"]["kpjzsj"] == DONE["kpjzsj"]


def test_an_offline_upload_is_one_device_operation_whatever_the_period():
    class Device:
        def __init__(self, answer):
            self.answer, self.calls = answer, 0

        def upload_offline(self, number, secrets):
            self.calls += 1
            return self.answer

    device = Device({**SUMMARY_DUE, "offline_pending": 0})
    result = worker._operate(device, "upload_offline", NUMBER, "2026-10", Secrets(), dict(SUMMARY_DUE))
    assert device.calls == 1 and result["outcome"] == "succeeded" and result["already_done"] is False
    assert result["monitoring"]["offline_pending"] == 0
    repeat = Device({**DONE, "offline_pending": 0, "already_done": True})
    result = worker._operate(repeat, "upload_offline", NUMBER, None, Secrets(), None)
    assert result["already_done"] is True and "already_done" not in result["monitoring"]


def test_the_broker_channel_shares_one_redis_client_until_its_pool_changes():
    """kombu made a new redis-py client for every ack; the agent's channel keeps one per pool."""
    broker.install()
    with Connection(BROKER) as connection:
        channel = connection.default_channel
        assert isinstance(channel, broker.Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second and first.ping()
        channel._disconnect_pools()  # what kombu does when the connection is lost
        with channel.conn_or_acquire() as third:
            assert third is not first and third.ping()
