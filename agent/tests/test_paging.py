"""A 发票查询 answer bigger than one result (issue 27): split into numbered pages within the site's
limits, each its own entry in the outbox, sent until the site has it; to a site that takes no pages,
or an answer no page can hold, a failed result with RESULT_TOO_LARGE instead of a result refused
until the job's lease runs out."""

import json
import re
from datetime import datetime

import pytest
from agent_fakes import DONE, TOKEN, FakeDriver
from qingka_agent import worker
from qingka_agent.client import ServerError, SiteClient
from qingka_agent.drivers.base import Secrets
from qingka_agent.drivers.simulated import SHANGHAI, SimulatedDriver
from qingka_agent.inventory import Inventory
from qingka_agent.outbox import MAX_TRIES, Outbox, backoff
from qingka_agent.paging import PAGE_BYTES, paged
from qingka_agent.signing import sign, signing_key
from test_outbox import RecordingClient

SITE_TAKES = {"invoices": 5000, "pages": 200}  # what the site's me/ says
NUMBER = "539912237528"


def invoice(n: int, buyer: str = "上海明远贸易有限公司") -> dict:
    return {
        "type": "004",
        "code": "3126123456",
        "number": f"{n:08d}",
        "issued_at": "2026-10-03T10:30:00+08:00",
        "amount": "1000.00",
        "tax": "130.00",
        "buyer": buyer,
        "uploaded": True,
    }


def answer(invoices: list[dict]) -> dict:
    return {
        "attempt": 1,
        "outcome": "succeeded",
        "already_done": False,
        "error_code": None,
        "raw_code": None,
        "message": "",
        "monitoring": {"kpjzsj": "2026-12-15", "offline_pending": 0},
        "started_at": "2026-11-05T01:00:00+00:00",
        "finished_at": "2026-11-05T01:00:05+00:00",
        "invoices": invoices,
    }


def test_an_answer_that_fits_one_result_goes_whole_to_any_site():
    result = answer([invoice(n) for n in range(5000)])
    assert paged(result, SITE_TAKES) == [result]
    assert paged(result, None) == [result]  # a site before pages gets what it always got


def test_twelve_thousand_invoices_go_in_three_numbered_pages_within_the_limit():
    invoices = [invoice(n) for n in range(12_000)]
    pages = paged(answer(invoices), SITE_TAKES)
    assert [(p["page"], p["pages"], len(p["invoices"])) for p in pages] == [(1, 3, 5000), (2, 3, 5000), (3, 3, 2000)]
    assert [i for p in pages for i in p["invoices"]] == invoices  # every invoice once, in order
    header = {k: v for k, v in answer([]).items() if k != "invoices"}
    assert all({k: p[k] for k in header} == header for p in pages)  # each page a whole result of its own


def test_pages_stay_within_the_bytes_a_request_may_carry():
    long = "某" * 400  # a vendor tool may pass on anything as the buyer
    pages = paged(answer([invoice(n, long) for n in range(3000)]), SITE_TAKES)
    assert len(pages) > 1 and sum(len(p["invoices"]) for p in pages) == 3000
    wire = [len(json.dumps(p, ensure_ascii=False, separators=(",", ":")).encode()) for p in pages]  # as httpx sends
    assert max(wire) <= PAGE_BYTES


def test_what_the_site_cannot_take_is_a_failure_that_says_why():
    result = answer([invoice(n) for n in range(12_000)])
    [old_site] = paged(result, None)
    assert (old_site["outcome"], old_site["error_code"]) == ("failed", "RESULT_TOO_LARGE")
    assert "12000 张发票" in old_site["message"] and "invoices" not in old_site
    assert old_site["monitoring"] == result["monitoring"] and old_site["attempt"] == 1
    [too_many_pages] = paged(result, {"invoices": 5000, "pages": 2})
    assert too_many_pages["error_code"] == "RESULT_TOO_LARGE" and "最多接收 2 页" in too_many_pages["message"]
    [one_too_big] = paged(answer([invoice(1, "某" * PAGE_BYTES)]), SITE_TAKES)
    assert one_too_big["error_code"] == "RESULT_TOO_LARGE"


def test_pages_are_entries_of_their_own_sent_until_the_site_has_each(tmp_path):
    now = [1000.0]
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=lambda: now[0])
    pages = paged(answer([invoice(n) for n in range(12_000)]), SITE_TAKES)
    outbox.put(7, 1, *pages)
    outbox.put(7, 1, *pages)  # stored again (a replay): idempotent on job, attempt and page
    outbox.put(8, 1, answer([invoice(1)]))
    assert [(job, body.get("page")) for job, _, body in outbox.pending()] == [(7, 1), (7, 2), (7, 3), (8, None)]
    assert outbox.waiting() == {7, 8}

    second = {"fails": True}

    class Site(RecordingClient):
        def results(self, results):
            self.calls.append([(job_id, r.get("page")) for job_id, r in results])
            if second["fails"] and any(r.get("page") == 2 for _, r in results):
                raise ServerError("HTTP 500")
            return {job_id: None for job_id, _ in results}

    site = Site()
    assert outbox.flush(site) == 3  # one page of a job per call (the site answers per job); page 2 waits
    assert site.calls == [[(7, 1)], [(7, 2)], [(7, 3), (8, None)]]
    assert [body["page"] for _, _, body in outbox.pending()] == [2] and outbox.waiting() == {7}
    second["fails"] = False
    now[0] += backoff(1)
    assert outbox.flush(site) == 1 and outbox.pending() == []


def test_a_page_the_site_keeps_failing_on_is_parked_alone(tmp_path):
    now = [1000.0]
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=lambda: now[0])
    outbox.put(7, 1, *paged(answer([invoice(n) for n in range(12_000)]), SITE_TAKES))
    site = RecordingClient()
    site.results = lambda results: {
        job_id: ServerError("HTTP 500") if r["page"] == 3 else None for job_id, r in results
    }
    for tries in range(1, MAX_TRIES + 1):
        outbox.flush(site)
        now[0] += backoff(tries)
    assert outbox.pending() == [] and outbox.parked() == [7]


def test_an_outbox_from_before_pages_keeps_its_entries_and_takes_pages(tmp_path):
    import sqlite3

    path = tmp_path / "outbox.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE results (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,"
            " attempt INTEGER NOT NULL, body TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0,"
            " next_try REAL NOT NULL DEFAULT 0, parked INTEGER NOT NULL DEFAULT 0, UNIQUE (job_id, attempt))"
        )
        db.execute("INSERT INTO results (job_id, attempt, body, tries) VALUES (5, 1, '{\"attempt\": 1}', 3)")
    outbox = Outbox(path)
    outbox.put(6, 1, {"attempt": 1, "page": 1, "pages": 2}, {"attempt": 1, "page": 2, "pages": 2})
    assert [(job, body.get("page")) for job, _, body in outbox.pending()] == [(5, None), (6, 1), (6, 2)]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT tries FROM results WHERE job_id = 5").fetchone() == (3,)


def test_the_agent_pages_a_big_answer_to_a_site_that_takes_pages(site, tmp_path):
    class Device(FakeDriver):
        def query_invoices(self, number, secrets, query):
            return {**self._op("query_invoices", number, None, secrets), "invoices": invoices}

    invoices = [invoice(n) for n in range(12_000)]
    inventory = Inventory([Device({NUMBER: DONE})])
    inventory.scan()
    key = signing_key(TOKEN)
    agent = worker.Agent(
        SiteClient(site.url, TOKEN), Outbox(tmp_path / "outbox.sqlite3"), inventory, key, result_pages=SITE_TAKES
    )
    site.add_job(7, "query_invoices", NUMBER, period=None)
    agent.handle(7, 1, sign(key, 7, 1))
    agent.drain()
    sent = [item for _, path, body in site.calls if path == "jobs/results/" for item in body["results"]]
    assert [(item["job"], item["page"], item["pages"]) for item in sent] == [(7, 1, 3), (7, 2, 3), (7, 3, 3)]
    assert [i for item in sent for i in item["invoices"]] == invoices
    assert agent.outbox.pending() == []


def test_a_simulated_device_can_hold_twelve_thousand_invoices_in_a_month(tmp_path):
    devices = tmp_path / "cabinet.json"
    spec = {"device_number": NUMBER, "kind": "tax_disk", "slot": "sim-1", "invoices_per_month": 12_000}
    devices.write_text(json.dumps({"devices": [spec]}))
    driver = SimulatedDriver(devices, tmp_path / "state", clock=lambda: datetime(2026, 11, 3, 9, tzinfo=SHANGHAI))
    invoices = driver.query_invoices(NUMBER, Secrets("12345678", "88888888"), {"month": "2026-10"})["invoices"]
    assert len(invoices) == len({(i["code"], i["number"]) for i in invoices}) == 12_000
    assert all(re.fullmatch(r"\d{8}", i["number"]) and i["issued_at"][:7] == "2026-10" for i in invoices)
    summary = driver.upload_summary(NUMBER, "2026-10", Secrets("12345678", "88888888"))["summary"]
    assert sum(counts["count"] for counts in summary.values()) == 12_000  # the 抄报 counts them all

    devices.write_text(json.dumps({"devices": [{**spec, "invoices_per_month": 15_001}]}))
    with pytest.raises(ValueError, match="invoices_per_month must be 0-15000"):
        SimulatedDriver(devices, tmp_path / "other").discover()
