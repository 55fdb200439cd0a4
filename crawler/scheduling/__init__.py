"""Unattended recapture: schedule rules and the watcher that runs crawls on them."""
