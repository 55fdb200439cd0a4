"""The demo: a replica news site on loopback, and the job `make demo` runs against it."""
