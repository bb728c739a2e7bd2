"""Reports: saved queries laid out for people. They render numbers and never compute a KPI.

- :mod:`contactkpi.reports.demo` gathers the numbers of the ``contactkpi demo`` report from
  the KPI engine (``contactkpi.metrics``) and the staffing maths (``contactkpi.wfm``), keeping
  with each block the ``contactkpi kpi`` command that returns the same rows.
- :mod:`contactkpi.reports.terminal` prints that report with Rich.
"""

from __future__ import annotations

from contactkpi.reports.demo import DemoReport, DemoTenant, build_demo_report

__all__ = ["DemoReport", "DemoTenant", "build_demo_report"]
