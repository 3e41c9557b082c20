"""An audit change's foreign key (`staff: 3`) reads as the object's name; anything else stays."""

import pytest

from apps.audit.display import readable, readable_changes
from tests.factories import make_client, make_device

pytestmark = pytest.mark.django_db


def test_a_foreign_key_reads_as_the_objects_name(users):
    owner = users["owner"]
    assert readable("clients.client", "staff", owner.pk) == str(owner) == "会计乙"
    assert readable("clients.client", "staff_id", owner.pk) == "会计乙"
    client = make_client(name="甲客户")
    assert readable("devices.device", "client", client.pk) == "甲客户"
    [change] = readable_changes("clients.client", {"staff": None}, {"staff": owner.pk})
    assert (change.before, change.after) == ("—", "会计乙")


def test_a_gone_object_a_number_field_and_an_unknown_key_keep_the_number():
    assert readable("clients.client", "staff", 999999) == "999999"
    assert readable("devices.device", "sub_number", 1) == "1"
    assert readable("", "staff", 3) == "3" and readable("clients.client", "nonesuch", 3) == "3"
    make_device()  # a model with relations, still no lookup for a plain number
    assert readable("jobs.job", "attempts", 2) == "2"
