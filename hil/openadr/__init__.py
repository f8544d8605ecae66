"""OpenADR 2.0b for hardware in the loop: a VEN bridge that turns VTN events into site
constraints and reports the site power, and a small VTN for tests and demos.

Sign convention: positive = consumption / import.
"""

from hil.openadr.events import EventsFileError, EventSpec, IntervalSpec, load_events, parse_events
from hil.openadr.signals import (
    DEFAULT_LEVELS_PERCENT,
    MalformedEvent,
    SiteConstraint,
    can_comply,
    constraints_from_event,
)
from hil.openadr.ven import VenBridge
from hil.openadr.vtn import UsageReport, Vtn, add_arguments, main, serve

__all__ = [
    "DEFAULT_LEVELS_PERCENT", "EventSpec", "EventsFileError", "IntervalSpec", "MalformedEvent",
    "SiteConstraint", "UsageReport", "VenBridge", "Vtn", "add_arguments", "can_comply",
    "constraints_from_event", "load_events", "main", "parse_events", "serve",
]
