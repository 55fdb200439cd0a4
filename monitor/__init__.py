"""Change monitoring between captures: extraction, comparison, events, alerts (issue #3)."""
