"""Log records to the systemd journal through its native protocol, with their priority."""

import logging
import os
import socket
import struct
from pathlib import Path

SOCKET = Path("/run/systemd/journal/socket")
# logging's levels → syslog priorities (journalctl -p).
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalHandler(logging.Handler):
    def __init__(self, path: Path = SOCKET, identifier: str = "qingka-agent"):
        super().__init__()
        self.path, self.identifier = path, identifier
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "MESSAGE": self.format(record),
                "PRIORITY": str(PRIORITIES.get(record.levelno - record.levelno % 10, 6)),
                "SYSLOG_IDENTIFIER": self.identifier,
                "SYSLOG_PID": str(os.getpid()),
                "LOGGER": record.name,
                "CODE_FILE": record.pathname,
                "CODE_LINE": str(record.lineno),
                "CODE_FUNC": record.funcName,
            }
            self.socket.sendto(b"".join(_field(k, v) for k, v in fields.items()), str(self.path))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.socket.close()
        super().close()


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" in data:  # a multi-line value goes with its length
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def handler() -> logging.Handler:
    if not SOCKET.exists():
        raise RuntimeError(f"no systemd journal here ({SOCKET} is missing): leave out --system-log")
    return JournalHandler()
