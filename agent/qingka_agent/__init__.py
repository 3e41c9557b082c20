"""Qingka on-premise agent. Has no Django in it and never imports the site's code."""

__version__ = "0.4.0"
