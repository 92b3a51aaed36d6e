"""From an event to a plan: trigger filters, matrix expansion and the job graph. Pure."""
