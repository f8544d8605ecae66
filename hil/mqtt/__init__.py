"""MQTT sensor bridge: the site's sensor topics into the twin, the twin's outputs out.

Sign convention: positive = consumption / charging / import (PV production negative),
in payload values as in the twin's attributes.
"""

from hil.mqtt.bridge import KINDS, MqttSensorBridge
from hil.mqtt.client import MqttPublisher
from hil.mqtt.codec import (
    SENSOR_WILDCARD,
    UNITS,
    MalformedMessage,
    Reading,
    decode,
    encode,
    parse_topic,
    topic_for,
)
from hil.mqtt.feed import AssetBounds, MqttFeed, Received

__all__ = [
    "KINDS", "SENSOR_WILDCARD", "UNITS", "AssetBounds", "MalformedMessage", "MqttFeed",
    "MqttPublisher", "MqttSensorBridge", "Reading", "Received", "decode", "encode",
    "parse_topic", "topic_for",
]
