"""The load run: 200 citizens' whole journeys for 5 minutes against the portal on PostgreSQL.

`python -m bench.load --help` (or `make load`); bench/load/journey.py is the journey,
bench/load/locustfile.py the locust user, bench/load/run.py the reusable LoadRun.
"""
