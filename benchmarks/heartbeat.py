"""#9: a heartbeat of an agent holding 600 devices, as the simulated cabinet reports them, sent to
the site on gunicorn; meanwhile another connection keeps updating one of those device rows, as a
result or the sweeper would, and the longest it waited for the row is the lock the heartbeat held.

    .venv/bin/python benchmarks/heartbeat.py
"""

import threading
import time

import common

DEVICES = 600
PREFIX = 44  # of the devices' numbers
DATABASE = "qingka_bench_hb"
COMMAND = ".venv/bin/python benchmarks/heartbeat.py"

common.setup(DATABASE)

import httpx  # noqa: E402
import psycopg  # noqa: E402

from apps.devices.models import Device  # noqa: E402


def number(n: int) -> str:
    return common.device_number(PREFIX, n)


def main():
    common.fill_ukeys(DEVICES, "心跳客户", 800000, PREFIX)
    common.unplug_devices()
    agent, token = common.make_agent("heartbeat-600")
    specs = [
        {"device_number": number(n), "kind": "ukey", "slot": f"1-{n // 100 + 1}.{n % 100 + 1}"} for n in range(DEVICES)
    ]
    rows = common.inventory_rows(specs, common.fresh_dir(common.VAR / "heartbeat"))
    body = {"version": "bench", "hostname": "bench-pc", "devices": rows, "jobs": []}
    watched = Device.objects.get(number=number(DEVICES // 2)).pk
    waits, stop = [], threading.Event()

    def writer():
        with psycopg.connect(common.database_url(DATABASE), autocommit=True) as db:
            while not stop.is_set():
                start = time.perf_counter()
                db.execute("UPDATE devices_device SET busy = busy WHERE id = %s", (watched,))
                waits.append((time.perf_counter() - start) * 1000)
                time.sleep(0.005)

    site = common.Gunicorn(DATABASE).start()
    try:
        with httpx.Client(base_url=site.url, headers={"Authorization": f"Agent {token}"}, timeout=120) as http:
            first = http.post("/api/v1/agent/heartbeat/", json=body)  # the devices arrive on this agent
            assert first.status_code == 200, first.text[:300]
            thread = threading.Thread(target=writer)
            thread.start()
            times = []
            for _ in range(20):
                start = time.perf_counter()
                response = http.post("/api/v1/agent/heartbeat/", json=body)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text[:300]
                time.sleep(0.2)
            stop.set()
            thread.join()
    finally:
        site.stop()
    kilobytes = len(httpx.Request("POST", "http://x", json=body).content) // 1024
    size = f"{DEVICES} devices with their monitoring data (≈{kilobytes} KB)"
    p95 = common.percentile(times, 95)
    common.save(
        "heartbeat",
        [
            common.figure(
                9,
                "heartbeat_600_p95",
                "A 600-device heartbeat, time to answer (gunicorn, 20 heartbeats): p95",
                size,
                p95,
                "ms",
                "≤ 200 ms",
                p95 <= 200,
                COMMAND,
                p50=round(common.percentile(times, 50), 1),
            ),
            common.figure(
                9,
                "heartbeat_device_row_wait_max",
                "Longest wait of another writer for one of those device rows during the heartbeats",
                size,
                max(waits),
                "ms",
                "no lock beyond the heartbeat's own short transaction (≤ 200 ms)",
                max(waits) <= 200,
                COMMAND,
                updates=len(waits),
            ),
        ],
    )


if __name__ == "__main__":
    main()
