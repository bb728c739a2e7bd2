"""Workforce planning: queueing maths, forecasts, forecast accuracy and staffing plans."""
