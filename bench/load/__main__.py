"""The load run: python -m bench.load [--users 200] [--minutes 5 | --seconds S] [--json PATH] (make load).

Creates (or empties) the PostgreSQL database qyzmet_load and the Redis DB 3,
loads the sandbox and enough generated citizens, starts the portal under
gunicorn on 127.0.0.1:8200 with one Huey worker, runs locust headless with
the citizen's whole journey (bench/load/journey.py), then reports requests,
5xx, failures by step, p50/p95/p99 per step, completed journeys, and the
database counted against them. Exits 1 when a check fails (5xx, a failed
journey, an application lost or duplicated, an unsigned one, SMS sent twice);
the timings are only reported.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.load.run import DATABASE_URL, PORT, RATE_LIMITS, REDIS_URL, LoadRun


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated citizens at once (200)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long locust runs (5)")
    length.add_argument("--seconds", type=float, help="how long locust runs, in seconds")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (users/30)")
    parser.add_argument("--think", default="1,3", help="seconds a citizen pauses between pages, LOW,HIGH (1,3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers)")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--citizens", type=int, help="generated citizens (enough for the run by default)")
    parser.add_argument("--stop-timeout", type=float, default=120,
                        help="seconds the journeys in flight get to finish when the time is up (120)")
    parser.add_argument("--workdir", help="where logs, locust's CSV and the journeys' record go (a temp dir)")
    parser.add_argument("--json", dest="json_path", help="also write the whole result as JSON here")
    args = parser.parse_args(argv)
    args.duration = args.seconds if args.seconds is not None else 60 * (args.minutes if args.minutes is not None else 5)
    low, _, high = args.think.partition(",")
    args.think_range = (float(low), float(high or low))
    return args


def ms(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(result: dict) -> str:
    lines = [
        f"Load run: {result['users']} users for {result['seconds']:.0f} s, think {result['think'][0]:g}-"
        f"{result['think'][1]:g} s, {result['gunicorn_workers']} gunicorn workers, PostgreSQL, Redis, 1 Huey worker",
        f"Rate limits raised for the run (all citizens share 127.0.0.1): "
        + ", ".join(f"{k}={v}" for k, v in RATE_LIMITS.items()),
        f"Requests: {result['requests']} in {result['locust_wall_seconds']:.0f} s = {result['requests_per_second']} req/s; "
        f"failed requests {result['request_failures']}; 5xx {result['five_xx']} (access log: "
        f"{sum(v for k, v in result['statuses_in_access_log'].items() if int(k) >= 500)})",
        f"Statuses seen by locust: {result['statuses_seen_by_locust']}",
        f"Journeys: {result['journeys_completed']} completed, {result['journeys_failed']} failed of "
        f"{result['journeys_started']} started, {result['journeys_interrupted_by_the_end']} stopped by the end of "
        f"the run" + (f"; users out of citizens {result['users_out_of_citizens']}"
                                                   if result["users_out_of_citizens"] else ""),
    ]
    if result["whole_journey_seconds"]:
        w = result["whole_journey_seconds"]
        lines.append(f"Whole journey (think time included): p50 {w['p50_ms']:.1f} s, p95 {w['p95_ms']:.1f} s, "
                     f"p99 {w['p99_ms']:.1f} s")
    if result["journey_failures_by_step"]:
        lines.append(f"Journey failures by step: {result['journey_failures_by_step']}")
        lines += [f"  e.g. {e}" for e in result["journey_failure_examples"]]
    for failure in result["request_failures_by_step"][:10]:
        lines.append(f"  request failure: {failure['occurrences']} x {failure['method']} {failure['name']}: "
                     f"{failure['error']}")
    lines.append("")
    lines.append(f"{'step':44} {'requests':>8} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for row in result["steps"].values():
        lines.append(f"{row['type'] + ' ' + row['name']:44.44} {row['requests']:8d} {row['failures']:5d} "
                     f"{ms(row['p50_ms']):>7} {ms(row['p95_ms']):>7} {ms(row['p99_ms']):>7} {ms(row['max_ms']):>7}")
    lines.append("")
    routes = result["server_side_by_route"]
    busy = sum(r["busy_seconds"] for r in routes.values())
    lines.append(f"Inside gunicorn (no listen-queue wait), by route, busiest first; workers busy {busy:.0f} s "
                 f"in {result['locust_wall_seconds']:.0f} s:")
    lines.append(f"{'route':72} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'busy s':>7}")
    for route, row in list(routes.items())[:12]:
        lines.append(f"{route:72.72} {row['requests']:8d} {row['p50_ms']:7d} {row['p95_ms']:7d} {row['busy_seconds']:7.0f}")
    lines.append("")
    db = result["database"]
    lines.append(f"Database: {db['applications']} applications ({db['applications_delivered']} handed over), "
                 f"{db['codes_issued']} SMS codes ({db['codes_used']} used), {db['sign_sms_messages']} SMS messages; "
                 f"after settling {result['settled']}")
    for c in result["checks"]:
        lines.append(f"[{'ok' if c['ok'] else 'FAIL'}] {c['check']}: {c['detail']}")
    lines.append(f"Phases (s): {result['timings']}")
    lines.append(f"Logs and locust's CSV: {result['workdir']}")
    lines.append("PASS" if result["ok"] else "FAIL")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--faults" in argv:
        # make load LOAD_ARGS=--faults: the fault run (bench/load/faults.py), with its own options.
        from bench.load import faults

        argv.remove("--faults")
        return faults.main(argv)
    args = parse_args(argv)
    run = LoadRun(
        users=args.users, seconds=args.duration, spawn_rate=args.spawn_rate, think=args.think_range,
        port=args.port, database_url=args.database_url, redis_url=args.redis_url, workers=args.workers,
        threads=args.threads, citizens=args.citizens, workdir=args.workdir, stop_timeout=args.stop_timeout,
    )
    print(f"Preparing {run.citizens} generated citizens in {args.database_url.rsplit('/', 1)[1]}; "
          f"logs in {run.workdir}", flush=True)
    with run:
        print(f"Portal at {run.portal.url}; locust running {args.users} users for {args.duration:.0f} s", flush=True)
        run.wait()
    result = run.result()
    print(report(result))
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
