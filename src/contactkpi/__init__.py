"""contactkpi: contact-center KPIs from raw records."""
