"""The agent's logging: stderr or the system log (journal, Windows event log), and a rotating
file; plain lines or JSON lines (`--log-format json`)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FILE_BYTES, FILE_BACKUPS = 10 * 1024 * 1024, 5
# One line per request or per received task would drown the agent's own job lines.
NOISY = ("httpx", "httpcore", "celery.worker.strategy", "celery.app.trace")


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            timestamp=True,
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(PLAIN)


def setup(level: int, log_format: str = "plain", log_file: Path | None = None, system_log: bool = False) -> None:
    if system_log:
        from .system import system_log_handler

        handlers = [system_log_handler()]
    else:
        handlers = [logging.StreamHandler()]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=FILE_BYTES, backupCount=FILE_BACKUPS, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=handlers, force=True)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
