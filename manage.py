#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    from config import embedded_postgres

    if os.environ["DJANGO_SETTINGS_MODULE"] == "config.settings":
        embedded_postgres.refuse_when_not_running(sys.argv, settings.VAR_DIR)

    execute_from_command_line(sys.argv)
