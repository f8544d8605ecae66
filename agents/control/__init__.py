"""Control of the site: the strategy interface, the rule-based and the scheduling strategies,
their forecasts, and the controller's mosaik adapter."""
