"""SunSpec over Modbus TCP for hardware in the loop.

- :mod:`hil.sunspec.models`: the SunSpec models used here, as data;
- :mod:`hil.sunspec.codec`: pure encode / decode, scale factors, the sign conversion;
- :mod:`hil.sunspec.image`: a device's register map in memory;
- :mod:`hil.sunspec.emulator`: ``SunSpecEmulator`` (a scenario PV inverter or battery
  served over Modbus TCP);
- :mod:`hil.sunspec.serve`: ``serve``, the ``emulate --modbus`` command;
- :mod:`hil.sunspec.client`: ``SunSpecClient`` (scan, read_model, write_points);
- :mod:`hil.sunspec.bridge`: ``SunSpecPvBridge`` and ``SunSpecBatteryBridge``.
"""
