"""Sources: one module per input format. A source parses and normalises; it knows no KPI."""
