"""`manage.py broker_users`: makes (again) every agent's own Redis user on the broker and removes
those of agents that no longer exist (apps/devices/broker.py). Run by compose's web service
before it serves; `--agent ID` makes one agent's user and prints its broker URL."""

from django.core.management.base import BaseCommand, CommandError

from apps.devices import broker
from apps.devices.models import Agent


class Command(BaseCommand):
    help = "Create or update each agent's Redis ACL user (its own queue only); remove stale ones."

    def add_arguments(self, parser):
        parser.add_argument("--agent", type=int, help="only this agent's user; prints its broker URL")

    def handle(self, *args, agent=None, **options):
        if agent is not None:
            found = Agent.objects.filter(pk=agent).first()
            if found is None:
                raise CommandError(f"no agent {agent}")
            broker.ensure_agent_user(found)
            self.stdout.write(broker.agent_broker_url(found))
            return
        made, removed = broker.sync_agent_users()
        self.stdout.write(f"agent broker users: {made} made or updated, {removed} removed")
