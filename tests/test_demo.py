import pytest

from apps.clients.models import Client
from apps.core.demo import seed
from apps.devices.models import Device
from apps.periods.models import Period


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_valid():
    seed(clients=6)
    counts = (Client.objects.count(), Device.objects.count(), Period.objects.count())
    seed(clients=6)
    assert counts == (6, 6, 12) == (Client.objects.count(), Device.objects.count(), Period.objects.count())
    assert not Client.objects.filter(taxpayer_id_legacy=True).exists()
    assert Device.objects.filter(simulated=False).count() == 0
