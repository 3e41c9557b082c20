"""The cabinet driver: the devices of 蒙柏 (mb) tax-device cabinets, driven over the cabinet's own
MQTT protocol (cabinet_protocol.py, docs/cabinet.md).

Each request carries a fresh `random` and the agent's reply topic; the answer with the same
`random` is the answer. Nothing waits longer than its timeout. A cabinet's 抄报清卡
(`cbjkxxhc`) may answer "s" when a step failed, or its answer may be lost with the broker, so
the outcome is decided by a fresh read (`swxxcx`) afterwards, never by the answer alone; a
request whose answer was lost is sent again only when that read shows it did not happen, so
nothing is done twice.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import paho.mqtt.client as mqtt

from .. import cabinet_protocol as proto
from .. import clock as agent_clock
from .base import (
    CERT_PASSWORD_WRONG,
    CLOCK_ERROR,
    DEVICE_BUSY,
    DEVICE_LOCKED,
    DEVICE_MISSING,
    DRIVER_ERROR,
    PORT_UNAUTHORIZED,
    RETURN_NOT_FILED,
    TIMEOUT,
    TRANSFER_FAILED,
    UNSUPPORTED,
    DeviceError,
    FoundDevice,
    Secrets,
)

log = logging.getLogger(__name__)
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

# The cabinet's err → the stable codes; anything else is DRIVER_ERROR with err and errinfo kept.
ERR_CODES = {
    "314": DEVICE_BUSY,
    "317": CERT_PASSWORD_WRONG,
    "319": DEVICE_MISSING,
    "327": PORT_UNAUTHORIZED,
    "305": DEVICE_LOCKED,
    "312": CLOCK_ERROR,
}
NO_INVOICE = "320"  # 当前要查询无发票: an empty answer, not a failure


class _Lost(Exception):
    """No answer in time (the broker went away, or the cabinet is silent)."""


class _Waiter:
    def __init__(self, done: Callable[[list[dict]], bool]):
        self.done = done
        self.messages: list[dict] = []
        self.ready = threading.Condition()


class CabinetDriver:
    name = "cabinet"

    def __init__(
        self,
        broker_url: str,
        terminals: list[str],
        reply_topic: str = "",
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        timeout: float = 15,
        operation_timeout: float = 300,
        simulated: bool = False,
        clock: Callable[[], datetime] | None = None,
    ):
        if not terminals:
            raise ValueError("the cabinet driver needs at least one terminal id")
        host, port, tls, url_user, url_password = proto.broker_address(broker_url)
        self.terminals = list(terminals)
        self.reply_topic = reply_topic or f"qingka_{uuid.uuid4().hex[:16]}"
        if len(self.reply_topic) > proto.MAX_SOURCE_TOPIC:
            raise ValueError(f"the reply topic may have at most {proto.MAX_SOURCE_TOPIC} characters")
        self.timeout, self.operation_timeout = timeout, operation_timeout
        self.simulated = simulated
        self._clock = clock or agent_clock.now
        self._waiting: dict[str, _Waiter] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._where: dict[str, tuple[str, int]] = {}  # plate_num → (ter_id, usb_port)
        self._found: dict[str, list[FoundDevice]] = {}  # ter_id → its devices at the last answer
        self._running: set[str] = set()
        self._status: dict[str, str] = {}  # plate_num → the cabinet's report_tax_status at the last read
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"qingka-agent-{uuid.uuid4().hex[:12]}")
        user = username or url_user
        if user:
            self._client.username_pw_set(user, password if password is not None else url_password)
        if tls or ca_file or cert_file:
            self._client.tls_set(
                ca_certs=ca_file or None,
                certfile=cert_file or None,
                keyfile=key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 4)
        self._client.connect_async(host, port, keepalive=15)
        self._client.loop_start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # -- MQTT ----------------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            log.error("cabinet broker refused the connection: %s", reason_code)
            return
        client.subscribe(self.reply_topic, qos=0)  # again after every reconnect (a clean session)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self._connected.clear()
        if reason_code != 0:
            log.warning("cabinet broker connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        try:
            answer = json.loads(message.payload)
            head = answer["head"]
            random = head["random"]
        except (ValueError, KeyError, TypeError):
            log.warning("cabinet: an unreadable message on %s dropped", message.topic)
            return
        if head.get("protocol") != proto.PROTOCOL or head.get("code_type") != "response":
            return
        with self._lock:
            waiter = self._waiting.get(random)
        if waiter is None:
            return  # an answer nobody waits for any more (it came too late)
        with waiter.ready:
            waiter.messages.append(answer)
            waiter.ready.notify_all()

    def _request(
        self,
        ter_id: str,
        cmd: str,
        data: list[dict[str, Any]],
        timeout: float,
        done: Callable[[list[dict]], bool] = lambda messages: bool(messages),
    ) -> list[dict]:
        """Sends one request and returns its answers (one, or several for an invoice list).
        Raises _Lost when they did not all come within `timeout`, DeviceError on "f"."""
        waited_for_broker = self._connected.wait(min(timeout, self.timeout))
        if not waited_for_broker:
            raise _Lost(f"no connection to the cabinet broker for {cmd}")
        random = uuid.uuid4().hex
        waiter = _Waiter(done)
        with self._lock:
            self._waiting[random] = waiter
        try:
            payload = json.dumps(proto.request(cmd, self.reply_topic, random, data), ensure_ascii=False)
            info = self._client.publish(proto.topic_of(ter_id), payload, qos=0)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise _Lost(f"{cmd} could not be sent ({mqtt.error_string(info.rc)})")
            with waiter.ready:
                failed = lambda: any(m["head"].get("result") == "f" for m in waiter.messages)  # noqa: E731
                if not waiter.ready.wait_for(lambda: failed() or waiter.done(waiter.messages), timeout):
                    raise _Lost(f"terminal {ter_id} did not answer {cmd} within {timeout:g}s")
                messages = list(waiter.messages)
        finally:
            with self._lock:
                self._waiting.pop(random, None)
        for message in messages:
            if message["head"].get("result") == "f":
                raise _error(message)
        return messages

    def _ask(self, ter_id: str, cmd: str, data: list[dict[str, Any]], **kwargs: Any) -> list[dict]:
        """A request that changes nothing: asked once more when its answer was lost."""
        try:
            return self._request(ter_id, cmd, data, self.timeout, **kwargs)
        except _Lost as first:
            log.warning("cabinet: %s; asking again", first)
        try:
            return self._request(ter_id, cmd, data, self.timeout, **kwargs)
        except _Lost as exc:
            raise DeviceError(TIMEOUT, str(exc)) from None

    # -- discovery -----------------------------------------------------------------------------

    def discover(self) -> list[FoundDevice]:
        """Every device on every terminal, from cxzdqbxx; a terminal that does not answer keeps
        the devices of its last answer (one lost answer is not a pull-out)."""
        for ter_id in self.terminals:
            try:
                answer = self._ask(ter_id, "cxzdqbxx", [])
                everything = proto.decompress(answer[0]["data"][0]["zdqbxx"])
                ports = (everything.get("usb_port_manage") or {}).get("usb_port_info") or []
            except (DeviceError, LookupError, ValueError, TypeError) as exc:
                log.warning("cabinet: terminal %s not listed this time: %s", ter_id, exc)
                continue
            found = []
            for port in ports:
                plate = port.get("plate_infos") or {}
                number = str(plate.get("plate_num") or "")
                if not number or str(port.get("dev_exists", "1")) == "0":
                    continue
                usb_port = int(port.get("usb_port") or plate.get("port_num") or 0)
                self._where[number] = (ter_id, usb_port)
                monitoring = self._monitoring(plate)
                found.append(
                    FoundDevice(
                        slot=f"{ter_id}:{usb_port}",
                        kind=monitoring.get("kind"),
                        driver=self.name,
                        device_number=number,
                        simulated=self.simulated,
                        busy=number in self._running,
                        monitoring=monitoring,
                    )
                )
            self._found[ter_id] = found
        return [device for ter_id in self.terminals for device in self._found.get(ter_id, [])]

    # -- operations ----------------------------------------------------------------------------

    def read_status(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        ter_id, _ = self._locate(device_number)
        return self._read(ter_id, device_number)

    def upload_summary(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        result = self._summarise_and_clear(device_number, period, _summarised)
        if not result.get("already_done"):
            summary = self.summary(device_number, period)
            if summary is not None:
                result["summary"] = summary
        return result

    def clear(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        return self._summarise_and_clear(device_number, period, _cleared)

    def upload_offline(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        """The protocol has no command for it (docs/cabinet.md): the terminal uploads offline invoices
        by itself every two hours."""
        raise DeviceError(UNSUPPORTED, "机柜协议没有上传离线发票的命令：机柜每2小时自动上传，或在开票软件中手工上传")

    def query_invoices(self, device_number: str, secrets: Secrets, query: dict[str, str]) -> dict[str, Any]:
        ter_id, _ = self._locate(device_number)
        if query.get("month"):
            month = str(query["month"]).replace("-", "")
            try:
                answers = self._ask(
                    ter_id,
                    "aycxykfpxx",
                    [{"plate_num": device_number, "month": month, "sfxqqd": "0"}],
                    done=_all_invoices,
                )
            except DeviceError as exc:
                if exc.raw_code != NO_INVOICE:
                    raise
                answers = []
            items = [item for answer in answers for item in answer.get("data") or []]
        elif query.get("number"):
            data = [{"plate_num": device_number, "fpdm": query.get("code") or "", "fphm": query["number"], "dzsyh": ""}]
            try:
                items = [item for answer in self._ask(ter_id, "afpdmhmcxfp", data) for item in answer.get("data") or []]
            except DeviceError as exc:
                if exc.raw_code != NO_INVOICE:
                    raise
                items = []
        else:
            raise DeviceError(DRIVER_ERROR, f"a query needs a month or a number, not {query!r}")
        invoices = [_invoice(item["invoice_data"]) for item in items if item.get("invoice_data")]
        return {**self._read(ter_id, device_number), "invoices": invoices}

    def summary(self, device_number: str, period: str) -> dict[str, dict[str, Any]] | None:
        """票表比对: what the month's invoices sum to per type, from hqhzxxsj; None when the cabinet
        gave nothing readable (the site then leaves the comparison out)."""
        ter_id, _ = self._locate(device_number)
        try:
            answer = self._ask(ter_id, "hqhzxxsj", [{"plate_num": device_number, "month": period.replace("-", "")}])
            rows = json.loads(answer[0]["data"][0]["statistics_data"] or "[]")
            return {
                str(row["fplxdm"]): {
                    "count": int(row.get("zsfpfs") or 0),
                    "amount": f"{float(row.get('zsfpljje') or 0):.2f}",
                    "tax": f"{float(row.get('zsfpljse') or 0):.2f}",
                }
                for row in rows
            }
        except (DeviceError, LookupError, ValueError, TypeError) as exc:
            log.warning("cabinet: no summary of %s for %s: %s", device_number, period, exc)
            return None

    def certificate_password_ok(self, device_number: str) -> bool:
        """mrzsmmyz: does the device take the cabinet's default certificate password?"""
        ter_id, _ = self._locate(device_number)
        answer = self._ask(ter_id, "mrzsmmyz", [{"plate_num": device_number}])
        return answer[0]["data"][0].get("cert_passwd") not in (None, "", "????????")

    def power_cycle(self, device_number: str) -> None:
        """重新上电: adkhgldkdy with power_state 2 (restart) on the device's port."""
        ter_id, usb_port = self._locate(device_number)
        self._ask(ter_id, "adkhgldkdy", [{"usb_port": str(usb_port), "power_state": "2"}])

    # -- inside --------------------------------------------------------------------------------

    def _locate(self, device_number: str) -> tuple[str, int]:
        if device_number not in self._where:
            self.discover()
        if device_number not in self._where:
            raise DeviceError(DEVICE_MISSING, f"未插税控设备: {device_number} is on none of the cabinet's terminals")
        return self._where[device_number]

    def _read(self, ter_id: str, device_number: str) -> dict[str, Any]:
        answer = self._ask(ter_id, "swxxcx", [{"plate_num": device_number}])
        try:
            ports = answer[0]["data"][0].get("usb_port_info") or []
        except (LookupError, AttributeError):
            raise DeviceError(DRIVER_ERROR, "swxxcx answered without usb_port_info") from None
        for port in ports:
            if str(port.get("plate_num")) == device_number:
                self._where[device_number] = (ter_id, int(port.get("usb_port") or self._where[device_number][1]))
                return self._monitoring(port)
        self._where.pop(device_number, None)
        raise DeviceError(DEVICE_MISSING, f"未插税控设备: {device_number} is not on terminal {ter_id}", raw_code="319")

    def _summarise_and_clear(self, device_number: str, period: str, done: Callable[[dict, str], bool]) -> dict:
        ter_id, _ = self._locate(device_number)
        with self._lock:
            if device_number in self._running:
                raise DeviceError(DEVICE_BUSY, "税盘正在被使用: another operation is running on it")
            self._running.add(device_number)
        try:
            before = self._read(ter_id, device_number)
            if done(before, period):
                return {**before, "already_done": True}
            data = [{"plate_num": device_number}]
            for attempt in (1, 2):
                try:
                    self._request(ter_id, "cbjkxxhc", data, self.operation_timeout)
                    answered = True
                except _Lost as exc:
                    log.warning("cabinet: %s; reading %s to see what happened", exc, device_number)
                    answered = False
                after = self._read_patiently(ter_id, device_number)
                if done(after, period):
                    return after
                if answered or attempt == 2:
                    break
            if not answered:
                raise DeviceError(TIMEOUT, f"terminal {ter_id} did not answer cbjkxxhc for {device_number}")
            raise _silent_failure(after, self._status.get(device_number, ""))
        finally:
            with self._lock:
                self._running.discard(device_number)

    def _read_patiently(self, ter_id: str, device_number: str) -> dict[str, Any]:
        """The read after a cbjkxxhc: the broker may be coming back, so it is asked for longer."""
        deadline = self.operation_timeout
        waited = 0.0
        while True:
            try:
                return self._read(ter_id, device_number)
            except DeviceError as exc:
                waited += 2 * self.timeout
                if exc.code != TIMEOUT or waited >= deadline:
                    raise

    def _monitoring(self, port: dict[str, Any]) -> dict[str, Any]:
        today = self._clock().astimezone(SHANGHAI).date()
        types: dict[str, dict[str, Any]] = {}
        rows = [row for row in port.get("tax_infos") or [] if isinstance(row, dict) and row.get("fplxdm")]
        for row in rows:
            kpjzsj, zxbsrq = proto.iso_date(row.get("kpjzsj")), proto.iso_date(row.get("zxbsrq"))
            types[str(row["fplxdm"])] = {
                "state": _type_state(today, kpjzsj, zxbsrq),
                "kpjzsj": kpjzsj,
                "zxbsrq": zxbsrq,
            }
        monitoring: dict[str, Any] = {
            "device_number": str(port.get("plate_num") or ""),
            "kind": proto.KIND_OF_USB_APP.get(str(port.get("usb_app") or "")),
            "simulated": self.simulated,
            "clock": self._clock().astimezone(SHANGHAI).isoformat(timespec="seconds"),
        }
        if str(port.get("plate_extension") or "").isdigit():
            monitoring["sub_number"] = int(port["plate_extension"])
        if str(port.get("tax_nature") or "").strip():
            monitoring["taxpayer_nature"] = str(port["tax_nature"]).zfill(2)
        if rows:
            kpjzsjs = [t["kpjzsj"] for t in types.values() if t["kpjzsj"]]
            zxbsrqs = [t["zxbsrq"] for t in types.values() if t["zxbsrq"]]
            first = rows[0]
            for name in ("bsqsrq", "bszzrq"):
                if proto.iso_date(first.get(name)):
                    monitoring[name] = proto.iso_date(first.get(name))
            if kpjzsjs:
                monitoring["kpjzsj"] = min(kpjzsjs)  # the types move together; the earliest decides
            if zxbsrqs:
                monitoring["zxbsrq"] = min(zxbsrqs)
            for name in ("dzkpxe", "lxzssyje"):
                if first.get(name) not in (None, ""):
                    monitoring[name] = str(first[name])
            if str(first.get("lxsc") or "").isdigit():
                monitoring["lxkpsc"] = int(first["lxsc"])
            monitoring["invoice_types"] = types
        self._status[monitoring["device_number"]] = str(port.get("report_tax_status") or "")
        return {k: v for k, v in monitoring.items() if v is not None}


def _error(message: dict) -> DeviceError:
    try:
        item = (message.get("data") or [{}])[0]
        err, msg, info = str(item.get("err", "")), str(item.get("msg", "")), str(item.get("errinfo", ""))
    except (AttributeError, IndexError, TypeError):
        err, msg, info = "", "", ""
    code = ERR_CODES.get(err, DRIVER_ERROR)
    text = " ".join(p for p in (f"cabinet err {err}" if err else "cabinet failure", msg, info) if p)
    return DeviceError(code, text, raw_code=err or None)


def _silent_failure(after: dict[str, Any], status: str) -> DeviceError:
    """cbjkxxhc answered "s" and the read after it shows the step not done."""
    if "申报" in status:
        code = RETURN_NOT_FILED
    elif "传输" in status or "网络" in status:
        code = TRANSFER_FAILED
    else:
        code = DRIVER_ERROR
    return DeviceError(
        code, f"抄报清卡未完成: {status or 'the cabinet said it succeeded, the device says not'}", monitoring=after
    )


def _all_invoices(messages: list[dict]) -> bool:
    """aycxykfpxx answers in several messages, each item numbered now_num of total_num."""
    items = [item for m in messages for item in m.get("data") or []]
    if not items:
        return False
    try:
        total = int(items[0].get("total_num") or 0)
    except (TypeError, ValueError):
        return True
    return total == 0 or len({item.get("now_num") for item in items}) >= total


def _invoice(text: str) -> dict[str, Any]:
    raw = json.loads(text)
    issued = str(raw.get("kpsj") or "")
    iso = issued.replace(" ", "T") + ("+08:00" if issued and "+" not in issued else "")
    return {
        "type": str(raw.get("fplxdm") or ""),
        "code": str(raw.get("fpdm") or ""),
        "number": str(raw.get("fphm") or ""),
        "issued_at": iso,
        "amount": str(raw.get("hjje") or "0.00"),
        "tax": str(raw.get("hjse") or "0.00"),
        "buyer": str(raw.get("gfmc") or ""),
        "uploaded": str(raw.get("scbz", "1")) == "1",
    }


def _month(iso: str) -> int:
    return int(iso[:4]) * 12 + int(iso[5:7]) - 1


def _cleared(monitoring: dict[str, Any], period: str) -> bool:
    """清卡 for `period` happened: kpjzsj has moved past the month after the period."""
    return bool(monitoring.get("kpjzsj")) and _month(monitoring["kpjzsj"]) > _month(period) + 1


def _summarised(monitoring: dict[str, Any], period: str) -> bool:
    zxbsrq = monitoring.get("zxbsrq") or ""
    return _cleared(monitoring, period) or (bool(zxbsrq) and _month(zxbsrq) > _month(period))


def _type_state(today: date, kpjzsj: str | None, zxbsrq: str | None) -> int:
    """docs/domain.md's invoice-type state: 1 未抄税, 2 抄税未清卡, 3 已清卡, 4 已锁死."""
    this = today.year * 12 + today.month - 1
    if kpjzsj and today > date.fromisoformat(kpjzsj):
        return 4
    if zxbsrq and (today - date.fromisoformat(zxbsrq)).days > 90:
        return 4
    if kpjzsj and this < _month(kpjzsj):
        return 3
    if zxbsrq and _month(zxbsrq) >= this:
        return 2
    return 1
