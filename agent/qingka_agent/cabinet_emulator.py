"""An emulated 蒙柏 (mb) tax-device cabinet: several terminals of USB ports holding devices, speaking
the cabinet's MQTT protocol (cabinet_protocol.py) over a real broker, odd parts included.

For tests and the demo; separate from the simulated driver (which is a driver, not a cabinet).
What it does, and which parts of it were read in the firmware and which are assumed, is in
docs/cabinet.md. Run one as a process with `python -m qingka_agent.cabinet_emulator --broker
mqtt://127.0.0.1:1883 --cabinet cabinet.yaml`.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml

from . import cabinet_protocol as proto
from . import clock as agent_clock

log = logging.getLogger(__name__)
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_CERT_PASSWORD = "12345678"  # the only one the cabinet works with (DEF_CERT_PASSWORD_DEFAULT)
INVOICES_PER_MESSAGE = 10  # aycxykfpxx answers in several messages (mqtt_pub_hook)


def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def _first(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


@dataclass
class Device:
    plate_num: str
    kind: str = "tax_disk"
    name: str = "模拟纳税人"
    tax_number: str = ""
    sub_number: int = 0
    nature: str = "01"
    cert_password: str = DEFAULT_CERT_PASSWORD
    authorised: bool = True  # the port's licence for this kind of device
    invoice_types: list[str] = field(default_factory=lambda: ["004", "007", "026"])
    zxbsrq: date | None = None
    kpjzsj: date | None = None
    return_filed: bool = True  # the bureau has the return, so a 清卡 goes through
    busy_failures: int = 0  # the next N operations answer 314
    silent_failures: int = 0  # the next N cbjkxxhc answer "s" and change nothing
    clock_wrong: bool = False  # every operation answers 312
    fail_with: str = ""  # every operation answers this err (316, 301, …)
    latency: float = 0.0  # seconds a cbjkxxhc takes
    summary_count: int = 0
    clear_count: int = 0
    cbjk_count: int = 0  # cbjkxxhc received and carried out (whatever the outcome)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    last_error: str = ""


@dataclass
class Port:
    number: int
    device: Device | None = None
    power: int = 1  # 1 on, 0 off
    power_cycles: int = 0


class Terminal:
    def __init__(self, ter_id: str, ports: int):
        self.ter_id = ter_id
        self.ports = {n: Port(n) for n in range(1, ports + 1)}

    @property
    def topic(self) -> str:
        return proto.topic_of(self.ter_id)

    def port_of(self, plate_num: str) -> Port | None:
        for port in self.ports.values():
            if port.device is not None and port.device.plate_num == plate_num:
                return port
        return None


class CabinetEmulator:
    """Terminals answering on one broker. `clock` gives the cabinet's time (Asia/Shanghai)."""

    def __init__(
        self,
        host: str,
        port: int,
        terminals: list[Terminal],
        clock: Callable[[], datetime] | None = None,
        username: str | None = None,
        password: str | None = None,
        deadline_day: int = 15,
        workers: int = 16,
    ):
        self.host, self.port = host, port
        self.terminals = {t.ter_id: t for t in terminals}
        self.clock = clock or (lambda: agent_clock.now().astimezone(SHANGHAI))  # QINGKA_CLOCK too
        self.deadline_day = deadline_day
        self.received: list[dict[str, Any]] = []  # every request taken (tests look at it)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cabinet")
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"qingka-emulator-{id(self):x}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 2)
        self.connected = threading.Event()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> CabinetEmulator:
        self._client.connect_async(self.host, self.port, keepalive=10)
        self._client.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError(f"the cabinet emulator could not reach the broker {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            log.error("cabinet emulator: broker refused: %s", reason_code)
            return
        for terminal in self.terminals.values():  # a clean session: subscribe again every time
            client.subscribe(terminal.topic, qos=0)
        self.connected.set()

    def _on_message(self, client, userdata, message) -> None:
        terminal = next((t for t in self.terminals.values() if t.topic == message.topic), None)
        if terminal is not None:
            self._pool.submit(self._handle, terminal, message.payload)

    def _publish(self, topic: str, answer: dict[str, Any]) -> None:
        self._client.publish(topic, json.dumps(answer, ensure_ascii=False), qos=0)

    # -- one request ---------------------------------------------------------------------------

    def _handle(self, terminal: Terminal, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            head = message["head"]
            cmd, source, random = head["cmd"], head["source_topic"], head["random"]
            if (
                head.get("protocol") != proto.PROTOCOL
                or head.get("code_type") != "request"
                or not all(isinstance(v, str) and v for v in (cmd, source, random))
                or len(source) > proto.MAX_SOURCE_TOPIC
                or len(random) > proto.MAX_RANDOM
            ):
                return  # analysis_json_head fails: dropped, no answer
        except (ValueError, KeyError, TypeError):
            return
        self.received.append({"ter_id": terminal.ter_id, "cmd": cmd, "random": random, "data": message.get("data")})
        handler = getattr(self, f"_cmd_{cmd}", None)
        if handler is None:
            return self._publish(source, proto.error(cmd, terminal.topic, random, "302"))
        data = message.get("data")
        wanted = 0 if cmd == "cxzdqbxx" else 1  # cxzdqbxx takes an empty data, swxxcx one or more
        if (
            not isinstance(data, list)
            or not all(isinstance(item, dict) for item in data)
            or (len(data) != wanted if cmd != "swxxcx" else not data)
        ):
            info = "请求的JSON数据data节点数解析失败"
            return self._publish(source, proto.error(cmd, terminal.topic, random, "304", info))
        try:
            answers = handler(terminal, data)
        except CabinetError as exc:
            return self._publish(source, proto.error(cmd, terminal.topic, random, exc.err, exc.errinfo))
        for ok, items in answers:
            self._publish(source, proto.response(cmd, terminal.topic, random, ok, items))

    def _device(self, terminal: Terminal, item: dict[str, Any]) -> tuple[Port, Device]:
        plate = str(item.get("plate_num") or "")
        if not plate:
            raise CabinetError("304", "请求的JSON数据data节点中plate_num解析失败")
        port = terminal.port_of(plate)
        if port is None or port.device is None or port.power == 0:
            raise CabinetError("319", f"税盘{plate}不在该终端上")
        device = port.device
        if not device.authorised:
            raise CabinetError("327", f"端口{port.number}未授权")
        if device.clock_wrong:
            raise CabinetError("312", "当前终端系统时间错误")
        if device.fail_with:
            raise CabinetError(device.fail_with, "税盘操作失败")
        return port, device

    def _operating(self, device: Device):
        """The device's lock, or 314 at once; the injected busy answers first."""
        if device.busy_failures > 0:
            device.busy_failures -= 1
            raise CabinetError("314", "税盘正在被使用")
        if not device.lock.acquire(blocking=False):
            raise CabinetError("314", "税盘正在被使用")
        return _Held(device.lock)

    def _check_password(self, device: Device) -> None:
        if device.cert_password != DEFAULT_CERT_PASSWORD:
            raise CabinetError("317", "证书口令错误,请将证书口令修改为默认口令12345678")

    # -- commands ------------------------------------------------------------------------------

    def _cmd_cxzdqbxx(self, terminal: Terminal, data: list) -> list:
        ports = []
        for port in terminal.ports.values():
            row: dict[str, Any] = {
                "usb_port": str(port.number),
                "dev_exists": "1" if port.device is not None and port.power else "0",
                "port_power": str(port.power),
                "usb_app": proto.USB_APP_OF_KIND.get(port.device.kind, "0") if port.device else "0",
            }
            if port.device is not None and port.power:
                row["plate_infos"] = {"port_num": str(port.number), **self._port_data(port)}
            ports.append(row)
        everything = {
            "ter_id": terminal.ter_id,
            "ter_type": "MB_EMULATOR",
            "usb_port_manage": {"usb_port_num": str(len(terminal.ports)), "usb_port_info": ports},
        }
        return [(True, [{"use_compress": "1", "compress_type": "zlib", "zdqbxx": proto.compress(everything)}])]

    def _cmd_swxxcx(self, terminal: Terminal, data: list) -> list:
        infos = []
        for item in data:
            port = terminal.port_of(str(item.get("plate_num") or ""))
            if port is None or port.power == 0:
                continue  # a plate not on this terminal is left out, not an error (as the firmware)
            infos.append({"usb_port": str(port.number), **self._port_data(port)})
        return [
            (
                True,
                [
                    {
                        "ter_id": terminal.ter_id,
                        "usb_port_num": str(len(terminal.ports)),
                        "usb_port_info": infos,
                    }
                ],
            )
        ]

    def _cmd_cbjkxxhc(self, terminal: Terminal, data: list) -> list:
        port, device = self._device(terminal, data[0])
        with self._operating(device):
            self._check_password(device)
            now = self.clock()
            if device.kpjzsj and now.date() > device.kpjzsj and not device.return_filed:
                raise CabinetError("305", "超过开票截止日期")
            time.sleep(device.latency)
            device.cbjk_count += 1
            self._summarise_and_clear(device, now.date())
            port.power_cycles += 1  # the firmware restarts the port after 抄报清卡
        return [
            (
                True,
                [
                    {
                        "ter_id": terminal.ter_id,
                        "usb_port_info": [{"usb_port": str(port.number), **self._port_data(port)}],
                    }
                ],
            )
        ]

    def _summarise_and_clear(self, device: Device, today: date) -> None:
        this = _month(today)
        if device.silent_failures > 0:  # the step failed, and the answer is "s" all the same
            device.silent_failures -= 1
            device.last_error = "抄报失败:数据传输失败"
            return
        if device.zxbsrq is None or _month(device.zxbsrq) < this:
            device.zxbsrq = today
            device.summary_count += 1
        if device.kpjzsj is None or _month(device.kpjzsj) <= this:
            if not device.return_filed:
                device.last_error = "清卡失败:未完成申报"
                return
            device.kpjzsj = _first(this + 1).replace(day=self.deadline_day)
            device.clear_count += 1
        device.last_error = ""

    def _cmd_mrzsmmyz(self, terminal: Terminal, data: list) -> list:
        _, device = self._device(terminal, data[0])
        right = device.cert_password == DEFAULT_CERT_PASSWORD
        return [
            (True, [{"plate_num": device.plate_num, "cert_passwd": DEFAULT_CERT_PASSWORD if right else "????????"}])
        ]

    def _cmd_adkhgldkdy(self, terminal: Terminal, data: list) -> list:
        item = data[0]
        try:
            number, state = int(item["usb_port"]), int(item["power_state"])
        except (KeyError, TypeError, ValueError):
            raise CabinetError("304", "请求的JSON数据data节点中usb_port或power_state解析失败") from None
        port = terminal.ports.get(number)
        if port is None or state not in (0, 1, 2):
            raise CabinetError("304", f"端口号{number}或电源状态{state}错误")
        if state == 2:
            port.power, port.power_cycles = 1, port.power_cycles + 1
        else:
            port.power = state
        return [(True, [{"usb_port": str(number), "power_state": str(port.power)}])]

    def _month_invoices(self, device: Device, request: dict[str, Any]) -> list[dict[str, Any]]:
        """The invoices of the request's `month` (YYYYMM), read from the device under its password."""
        month = str(request.get("month") or "")
        if len(month) != 6 or not month.isdigit():
            raise CabinetError("304", "请求的JSON数据中month解析失败")
        with self._operating(device):
            self._check_password(device)
            return self._invoices(device, int(month[:4]) * 12 + int(month[4:]) - 1)

    def _cmd_aycxykfpxx(self, terminal: Terminal, data: list) -> list:
        _, device = self._device(terminal, data[0])
        invoices = self._month_invoices(device, data[0])
        if not invoices:
            return [(True, [{"total_num": "0", "now_num": "0", "plate_num": device.plate_num, "invoice_data": ""}])]
        messages = []
        for start in range(0, len(invoices), INVOICES_PER_MESSAGE):
            chunk = invoices[start : start + INVOICES_PER_MESSAGE]
            messages.append(
                (
                    True,
                    [
                        {
                            "total_num": str(len(invoices)),
                            "now_num": str(start + n + 1),
                            "plate_num": device.plate_num,
                            "invoice_data": json.dumps(invoice, ensure_ascii=False),
                        }
                        for n, invoice in enumerate(chunk)
                    ],
                )
            )
        return messages

    def _cmd_afpdmhmcxfp(self, terminal: Terminal, data: list) -> list:
        _, device = self._device(terminal, data[0])
        code, number = str(data[0].get("fpdm") or ""), str(data[0].get("fphm") or "")
        with self._operating(device):
            self._check_password(device)
            today = self.clock().date()
            first = _month(device.zxbsrq or today) - 12
            found = [
                i
                for month in range(first, _month(today))
                for i in self._invoices(device, month)
                if i["fpdm"] == code and i["fphm"] == number
            ]
        if not found:
            raise CabinetError("320", "未查询到该发票")
        return [(True, [{"plate_num": device.plate_num, "invoice_data": json.dumps(found[0], ensure_ascii=False)}])]

    def _cmd_hqhzxxsj(self, terminal: Terminal, data: list) -> list:
        _, device = self._device(terminal, data[0])
        invoices = self._month_invoices(device, data[0])
        statistics = []
        for kind in device.invoice_types:
            mine = [i for i in invoices if i["fplxdm"] == kind]
            statistics.append(
                {
                    "fplxdm": kind,
                    "zsfpfs": str(len(mine)),
                    "zsfpljje": f"{sum(float(i['hjje']) for i in mine):.2f}",
                    "zsfpljse": f"{sum(float(i['hjse']) for i in mine):.2f}",
                }
            )
        return [
            (
                True,
                [
                    {
                        "plate_num": device.plate_num,
                        "month": str(data[0]["month"]),
                        "statistics_data": json.dumps(statistics),
                    }
                ],
            )
        ]

    # -- what a port reports -------------------------------------------------------------------

    def _invoices(self, device: Device, month: int) -> list[dict[str, Any]]:
        """The device's invoices of a month before the clock's: the simulated cabinet's, so the
        two agree on what a device issued (cabinet form: fpdm, fphm, fplxdm, kpsj, hjje, hjse, gfmc, scbz)."""
        from .drivers.simulated import month_invoices

        if month >= _month(self.clock().date()):
            return []
        return [
            {
                "fplxdm": i["type"],
                "fpdm": i["code"],
                "fphm": i["number"],
                "kpsj": i["issued_at"].replace("T", " ")[:19],
                "hjje": i["amount"],
                "hjse": i["tax"],
                "gfmc": i["buyer"],
                "scbz": "1",
            }
            for i in month_invoices(device.plate_num, device.invoice_types, month)
        ]

    def _port_data(self, port: Port) -> dict[str, Any]:
        device = port.device
        assert device is not None
        today = self.clock().date()
        this = _month(today)
        deadline = _first(this).replace(day=self.deadline_day)
        if device.kpjzsj is not None and _month(device.kpjzsj) > this:
            cbqkzt = "2"  # cleared for this month
        elif device.zxbsrq is not None and _month(device.zxbsrq) >= this:
            cbqkzt = "1"  # summarised, not cleared (assumed: the source names only 0 and 2)
        else:
            cbqkzt = "0"
        if device.last_error:
            status = device.last_error
        elif cbqkzt == "2":
            status = "抄报清卡均成功"
        else:
            status = "税盘刚启动,暂未执行到抄报清卡动作"
        return {
            "usb_app": proto.USB_APP_OF_KIND.get(device.kind, "0"),
            "name": device.name,
            "number": device.tax_number or f"91{device.plate_num}X",
            "ca_name": device.name,
            "ca_number": device.tax_number or f"91{device.plate_num}X",
            "plate_num": device.plate_num,
            "plate_extension": str(device.sub_number),
            "port_power": str(port.power),
            "tax_nature": device.nature,
            "cert_passwd_rignht": "1" if device.cert_password == DEFAULT_CERT_PASSWORD else "0",
            "report_tax_status": status,
            "tax_auth": "1" if device.authorised else "0",
            "tax_types_num": str(len(device.invoice_types)),
            "tax_infos": [
                {
                    "fplxdm": kind,
                    "kpjzsj": proto.compact_date(device.kpjzsj.isoformat() if device.kpjzsj else None),
                    "zxbsrq": proto.compact_date(device.zxbsrq.isoformat() if device.zxbsrq else None),
                    "bsqsrq": proto.compact_date(_first(this).isoformat()),
                    "bszzrq": proto.compact_date(deadline.isoformat()),
                    "dzkpxe": "99999.99",
                    "lxzssyje": "1000000.00",
                    "lxsc": "72",
                    "cbqkzt": cbqkzt,
                }
                for kind in device.invoice_types
            ],
        }


class CabinetError(Exception):
    def __init__(self, err: str, errinfo: str = ""):
        super().__init__(f"{err}: {errinfo}")
        self.err, self.errinfo = err, errinfo


class _Held:
    def __init__(self, lock: threading.Lock):
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def terminals_from(spec: dict[str, Any], today: date) -> list[Terminal]:
    """A cabinet file: {"terminals": [{"ter_id", "ports", "devices": [{"usb_port", "plate_num", "kind", …}]}]}.
    A device's dates default to due for 抄报 this month (latest 抄报 on the 2nd of last month,
    locking on this month's 15th)."""
    this = _month(today)
    terminals = []
    for t in spec.get("terminals") or []:
        terminal = Terminal(str(t["ter_id"]), int(t.get("ports", 8)))
        for d in t.get("devices") or []:
            extra = {k: d[k] for k in ("name", "tax_number", "cert_password", "authorised", "return_filed") if k in d}
            device = Device(
                plate_num=str(d["plate_num"]),
                kind=str(d.get("kind", "tax_disk")),
                sub_number=int(d.get("sub_number", 0)),
                nature=str(d.get("nature", "01")).zfill(2),
                invoice_types=[str(x) for x in d.get("invoice_types", ["004", "007", "026"])],
                zxbsrq=date.fromisoformat(str(d["zxbsrq"])) if d.get("zxbsrq") else _first(this - 1).replace(day=2),
                kpjzsj=date.fromisoformat(str(d["kpjzsj"])) if d.get("kpjzsj") else _first(this).replace(day=15),
                busy_failures=int(d.get("busy_failures", 0)),
                silent_failures=int(d.get("silent_failures", 0)),
                latency=float(d.get("latency", 0)),
                **extra,
            )
            terminal.ports[int(d["usb_port"])].device = device
        terminals.append(terminal)
    return terminals


def from_simulated(simulated: dict[str, Any], ports: int = 60, first_terminal: int = 681000000001) -> dict[str, Any]:
    """The simulated driver's cabinet file (the demo's var/demo/cabinet.yaml: "devices" with
    device_number, kind, zxbsrq, kpjzsj, faults …) as a cabinet of terminals of `ports` ports each,
    in its order. A device not present is left out (its port empty); a wrong certificate password
    stays wrong (317); a flaky line's transfer failures become cbjkxxhc answering "s" with nothing
    done; a taxpayer the bureau has no return of is not cleared."""
    unfiled = set(((simulated.get("bureau") or {}).get("unfiled") or {}).keys())
    present = [d for d in simulated.get("devices") or [] if d.get("present", True)]
    terminals: list[dict[str, Any]] = []
    for start in range(0, len(present), ports):
        devices = []
        for port, d in enumerate(present[start : start + ports], start=1):
            device = {
                "usb_port": port,
                "plate_num": str(d["device_number"]),
                "kind": d.get("kind", "tax_disk"),
                "sub_number": int(d.get("sub_number", 0)),
                "nature": str(d.get("taxpayer_nature", "01")),
                "tax_number": d.get("taxpayer_id", ""),
                "invoice_types": d.get("invoice_types", ["004", "007", "026"]),
                "zxbsrq": d.get("zxbsrq"),
                "kpjzsj": d.get("kpjzsj"),
                "return_filed": d.get("taxpayer_id") not in unfiled,
                "silent_failures": int(d.get("transfer_failures", 0)),
            }
            if d.get("certificate_password"):
                device["cert_password"] = str(d["certificate_password"])
            devices.append(device)
        terminals.append({"ter_id": f"{first_terminal + len(terminals):012d}", "ports": ports, "devices": devices})
    return {"terminals": terminals}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qingka_agent.cabinet_emulator")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--cabinet", type=Path, required=True, help="YAML: terminals, ports and devices")
    parser.add_argument("--clock", help="a fixed ISO datetime (Asia/Shanghai) the cabinet's clock stands at")
    parser.add_argument(
        "--from-simulated",
        action="store_true",
        help="--cabinet is the simulated driver's file (the demo's var/demo/cabinet.yaml), mapped by from_simulated",
    )
    parser.add_argument("--ports", type=int, default=60, help="ports per terminal with --from-simulated")
    parser.add_argument("--workers", type=int, default=16, help="requests the cabinet works at once")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    host, port, _tls, user, password = proto.broker_address(args.broker)
    fixed = datetime.fromisoformat(args.clock).replace(tzinfo=SHANGHAI) if args.clock else None
    clock = (lambda: fixed) if fixed else None
    spec = yaml.safe_load(args.cabinet.read_text(encoding="utf-8")) or {}
    if args.from_simulated:
        spec = from_simulated(spec, args.ports)
    today = (fixed or agent_clock.now().astimezone(SHANGHAI)).date()
    emulator = CabinetEmulator(
        host, port, terminals_from(spec, today), clock=clock, username=user, password=password, workers=args.workers
    )
    emulator.start()
    log.info("cabinet emulator: %d terminals on %s", len(emulator.terminals), args.broker)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
