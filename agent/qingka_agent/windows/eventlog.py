import logging
import logging.handlers


def handler() -> logging.Handler:
    """Records go to the Windows event log (Application, source qingka-agent); needs pywin32,
    which the agent's package requires on Windows."""
    return logging.handlers.NTEventLogHandler("qingka-agent")
