"""FlexMeasures-style scheduling (issue 3, in progress).

So far: ``quantities`` reads FlexMeasures' quantity strings and time series into the
twin's units; ``lp`` builds and solves linear / mixed-integer programs on HiGHS.
The flex-model schema, the built-in device scheduler and the strategy adapter follow.
"""
