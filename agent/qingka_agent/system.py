"""The parts that differ between a Linux and a Windows PC, each from its own package."""

import sys

if sys.platform == "win32":
    from .windows import processes
else:
    from .linux import processes

__all__ = ["processes", "system_log_handler"]


def system_log_handler():
    """The journal on Linux, the event log on Windows."""
    if sys.platform == "win32":
        from .windows.eventlog import handler
    else:
        from .linux.journal import handler
    return handler()
