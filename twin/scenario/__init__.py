"""The scenario: its schema (pydantic), its assets and participants, and its loading.

Read in this order: ``base`` (strict models), ``schema`` (the Scenario and its sections),
``specs`` (asset specifications), ``hil`` and ``market`` (those sections), ``errors``
(error text naming the field), ``reading`` (YAML files and ``--set``), ``assets`` and
``participants`` (what the scenario resolves to), ``loading`` (read, override, validate),
``reference`` (the JSON Schema and REFERENCE.md). Imports only leaves and pure models.
"""
