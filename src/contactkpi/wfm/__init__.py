"""Workforce planning: queueing maths, forecasts, forecast accuracy and staffing plans.

Pure maths (no warehouse): ``erlang`` (Erlang B/C/A, agents for a target), ``forecast``
(backtest-chosen statsforecast models), ``accuracy`` (MAPE, WAPE, bias, shares within 5/10%),
``staffing`` (required vs staffed, gap, why SL missed).

From the warehouse, through the KPI engine: ``history`` (volumes, AHT, patience per queue and
interval), ``stored`` (forecast runs in the ``forecasts`` table), ``runs`` (forecast from
history; accuracy of a stored run) and ``plan`` (the staffing plan of a date range).
"""
