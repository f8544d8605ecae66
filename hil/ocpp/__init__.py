"""OCPP 2.0.1 for hardware in the loop: a CSMS (:mod:`hil.ocpp.csms`), its standalone
server with a default smart-charging policy (:mod:`hil.ocpp.serve`), a charging-station
emulator of a scenario charger and EV (:mod:`hil.ocpp.station`) and the twin's bridge
(:mod:`hil.ocpp.bridge`).

Sign convention: positive = consumption / charging / import.
"""

from hil.ocpp.bridge import OcppChargerBridge, start_csms, stop_csms
from hil.ocpp.csms import Csms, StationNotConnected, StationState, server_ssl_context
from hil.ocpp.serve import add_arguments, main, run_csms, serve
from hil.ocpp.station import StationEmulator, run_station

__all__ = ["Csms", "OcppChargerBridge", "StationEmulator", "StationNotConnected",
           "StationState", "add_arguments", "main", "run_csms", "run_station", "serve",
           "server_ssl_context", "start_csms", "stop_csms"]
