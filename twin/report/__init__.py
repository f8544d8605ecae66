"""Reports: KPIs, plots and report.html of a results folder; market and HIL parts as sections."""
