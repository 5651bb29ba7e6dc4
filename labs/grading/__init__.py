"""Instructor and TA pipeline on top of nbgrader: release, collect, autograde, audit, report.

Each stage lives in its own module and is a verb of the ``labs`` command line (see :mod:`labs.cli`).
"""
