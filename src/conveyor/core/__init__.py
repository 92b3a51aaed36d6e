"""Vocabulary shared by every package: source locations, the error base, the clock.

Everything else imports from here; this package imports nothing of Conveyor's and does no I/O.
"""
