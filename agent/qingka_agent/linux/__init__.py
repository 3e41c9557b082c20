"""What only Linux (POSIX) does: process groups, the systemd journal, the systemd service and udev.

POSIX-only calls live in this package and nowhere else in the agent, so the agent runs on the
Windows PCs most firms have (agent/tests/test_portability.py checks it). `qingka_agent.system`
picks this package or `qingka_agent.windows`.
"""
