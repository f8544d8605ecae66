"""The market section of a report: trades and bills recorded, market KPIs, figures, GSY export."""
