"""`demo --cabinet mqtt` runs its own MQTT broker: mosquitto when installed, else amqtt, the pure
Python one of the demo extra. Both must carry the cabinet protocol's messages between paho clients."""

import threading

import paho.mqtt.client as mqtt
import pytest

from apps.core.processes import Supervisor
from apps.demo import stack

pytestmark = pytest.mark.integration


def round_trip(port: int) -> bytes:
    """A message published by one client reaches another subscribed to its topic."""
    arrived: list[bytes] = []
    subscribed, got = threading.Event(), threading.Event()
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.on_message = lambda client, userdata, message: (arrived.append(message.payload), got.set())
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        listener.connect("127.0.0.1", port)
        listener.loop_start()
        listener.subscribe("mb_fpkjxt_681000000001", qos=0)
        assert subscribed.wait(10)
        sender.connect("127.0.0.1", port)
        sender.loop_start()
        sender.publish("mb_fpkjxt_681000000001", b'{"head": {"cmd": "swxxcx"}}', qos=0)
        assert got.wait(10), "the broker did not deliver the message"
        return arrived[0]
    finally:
        for client in (listener, sender):
            client.loop_stop()
            client.disconnect()


@pytest.mark.parametrize("installed", [True, False], ids=["mosquitto", "amqtt"])
def test_the_demo_broker_carries_messages(installed, tmp_path, monkeypatch):
    if installed and stack.mosquitto() is None:
        pytest.fail("mosquitto is not installed (.ci/apt-packages.txt installs it)")
    if not installed:
        monkeypatch.setattr(stack, "mosquitto", lambda: None)
    supervisor = Supervisor(tmp_path / "logs", tmp_path)
    try:
        port = stack.start_mqtt_broker(supervisor, tmp_path)
        assert [child.name for child in supervisor.children] == ["mosquitto" if installed else "amqtt"]
        assert round_trip(port) == b'{"head": {"cmd": "swxxcx"}}'
    finally:
        supervisor.stop()
