"""`make bench`: performance measured as ratios in one run on one machine.

Each part (signup, dashboard, reminders, import) is a module here, runnable alone as
`python -m bench.<module>` or through `python -m bench <part>`; see docs/performance.md.
Only loopback services are used, and nothing is written outside var/bench/ and the bench
databases.
"""
