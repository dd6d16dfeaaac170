"""Load benchmark: 50 concurrent users on the register's GOV.UK pages, on loopback.

A fresh records database (SQLite in a temporary folder, and PostgreSQL too when
``VRU_TEST_POSTGRES_URL`` is set: ``export VRU_TEST_POSTGRES_URL="$(.ci/postgres.sh)"``)
holds the real MPS homicide victim file (2,670 cases, if present in the shared data) and a
SYNTHETIC set of 200 coded cases. ``vru``'s application is served by uvicorn in a separate
process on 127.0.0.1 (one worker, as ``vru serve``); 50 users are signed in through the
service (40 case reviewers, 10 borough officers of different boroughs; building all this is
not timed). Then every user, at once, with its own ``httpx.AsyncClient`` session, repeats
``--rounds`` times: a page of the case list, one case it may see, and the analysis page;
each case reviewer also codes one case (the coding form's POST and its 303). Every list,
view and analysis is an audited read (one chained audit entry each) and every coding an
audited write, as in use.

Users read each page before asking for the next: ``--think-ms`` (default 1,000 ms mean,
uniform from half to one and a half times it); ``--think-ms 0`` sends requests back to back,
which measures a saturated server (latency is then the queue: 50 / throughput).

Bounded: ``--rounds`` per user and ``--max-seconds`` overall (no new request starts after
it). Printed per database: requests, errors (anything but the expected status, or a
failure), p50, p95 and max latency in ms, and requests per second. Target: p95 under
200 ms and no errors. ``--repeat N`` runs each database N times (each on a fresh database),
for a machine shared with other work; every run is written, with the best and the median
p95, to ``bench/results/register_load_benchmark.json``.

Usage: python bench/register_load_benchmark.py [--users 50] [--rounds 5] [--max-seconds 120]
       [--think-ms 1000] [--no-coding] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.records.models import Case
from vru.adapters.records.testing import postgres_available, scratch_database
from vru.domain.register.vocabulary import FACTOR_CODES
from vru.services import register as reg
from vru.services.records import RecordsService, command_line, create_user, sign_in
from vru.services.register_seed import load_mps_homicides
from vru.services.security import totp
from vru.services.security.passwords import OWASP_MINIMUM, Hasher
from vru.services.security.settings import SecuritySettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
MPS_FILE = Path("/work/shared/data/crime/homicide/mps_homicides_2003_2023_stCEG.csv")
SECRET = "bench-only-6c1e9b3f7a2d5e8c0b4f9a1d6e3c8b2f5a7d0e9c"
PASSWORD = "correct horse battery staple"
OFFICER_BOROUGHS = ("Lambeth", "Southwark", "Newham", "Croydon", "Hackney", "Brent",
                    "Haringey", "Tower Hamlets", "Lewisham", "Enfield")
SESSION_COOKIE = "vru_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def service(url: str) -> RecordsService:
    return RecordsService(Records(make_engine(url)), SecuritySettings(
        secret_key=SECRET, argon2=OWASP_MINIMUM, cookie_secure=False), Hasher(OWASP_MINIMUM))


# --------------------------------------------------------------------------- server process


def serve(url: str, port: int) -> None:
    """Run the app on 127.0.0.1:port (the child process)."""
    import uvicorn

    from vru.interfaces.api.app import create_app

    uvicorn.run(create_app(service(url)), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


# --------------------------------------------------------------------------- data and users


@dataclass
class User:
    name: str
    role: str
    token: str = ""
    case_ids: list[int] = field(default_factory=list)


def prepare(url: str, n_users: int) -> tuple[list[User], str]:
    svc = service(url)
    upgrade(svc.records.engine)
    cli = command_line()
    if MPS_FILE.exists():
        load_mps_homicides(svc, cli, MPS_FILE)
        reg.load_synthetic(svc, cli, 200)
        data = "MPS homicide victims 2003-2023 (2,670 cases) + 200 SYNTHETIC coded cases"
    else:
        reg.load_synthetic(svc, cli, 2870)
        data = "2,870 SYNTHETIC coded cases (the MPS file was not found)"
    with svc.records.reading() as s:
        rows = s.execute(select(Case.id, Case.borough)).all()
    all_ids = [int(r[0]) for r in rows]
    by_borough: dict[str, list[int]] = {}
    for case_id, place in rows:
        by_borough.setdefault(str(place), []).append(int(case_id))
    n_officers = min(10, n_users // 5)
    users: list[User] = []
    for i in range(n_users):
        officer = i < n_officers
        borough = OFFICER_BOROUGHS[i % len(OFFICER_BOROUGHS)] if officer else None
        user = User(f"load-{i:02d}", "borough_officer" if officer else "case_reviewer")
        new = create_user(svc, cli, user.name, PASSWORD, user.role, borough=borough)
        assert new.totp_secret
        signed = sign_in(svc, user.name, PASSWORD, totp.code_at(new.totp_secret, svc.now()),
                         "127.0.0.1")
        user.token = signed.token
        user.case_ids = by_borough.get(borough, []) if borough else all_ids
        users.append(user)
    svc.close()
    return users, data


# --------------------------------------------------------------------------- load


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)


CODE = [True]  # case reviewers code a case (a write that changes the analysis)
THINK = [0.0]  # seconds a user spends on a page before the next request (mean)


async def timed(client: httpx.AsyncClient, tally: Tally, page: str, method: str, path: str,
                expect: int, **kw: Any) -> httpx.Response | None:
    if THINK[0] > 0 and page != "warm-up":
        await asyncio.sleep(random.uniform(0.5, 1.5) * THINK[0])
    start = time.perf_counter()
    try:
        response = await client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        tally.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
        return None
    elapsed = (time.perf_counter() - start) * 1000
    tally.latencies.append(elapsed)
    tally.by_page.setdefault(page, []).append(elapsed)
    if response.status_code != expect:
        tally.errors.append(f"{method} {path}: {response.status_code}")
    return response


async def user_session(base: str, user: User, rounds: int, stop_at: float, coding_case: int,
                       rng: random.Random, tally: Tally, start: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, cookies={SESSION_COOKIE: user.token},
                                 headers={"accept": "text/html"}, timeout=60) as client:
        await start.wait()
        pages = max(1, -(-len(user.case_ids) // 50))
        for n in range(rounds):
            if time.monotonic() > stop_at:
                return
            await timed(client, tally, "case list", "GET",
                        f"/register/cases?page={rng.randint(1, min(pages, 20))}", 200)
            case_id = rng.choice(user.case_ids)
            await timed(client, tally, "case", "GET", f"/register/cases/{case_id}", 200)
            await timed(client, tally, "analysis", "GET", "/register/analysis", 200)
            if n == 0 and CODE[0] and user.role == "case_reviewer" \
                    and time.monotonic() <= stop_at:
                page = await timed(client, tally, "case", "GET",
                                   f"/register/cases/{coding_case}", 200)
                found = CSRF.search(page.text) if page is not None else None
                if found is None:
                    tally.errors.append("no CSRF token on the case page")
                    continue
                form = {"csrf_token": found.group(1), "coding_round": "first",
                        "coder": user.name}
                form.update({f"f_{c}": rng.choice(("yes", "no", "not_known"))
                             for c in FACTOR_CODES})
                await timed(client, tally, "coding (POST)", "POST",
                            f"/register/cases/{coding_case}/coding", 303, data=form)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


async def load(base: str, users: list[User], rounds: int, max_seconds: float
               ) -> tuple[Tally, float]:
    tally = Tally()
    rng = random.Random(7)
    # warm up: one of each page as a case reviewer and as a borough officer, so the first
    # computation of each (cached) analysis is not in the figures
    warm = Tally()
    for user in {users[0].role: users[0], users[-1].role: users[-1]}.values():
        async with httpx.AsyncClient(base_url=base, cookies={SESSION_COOKIE: user.token},
                                     timeout=120) as client:
            for path in ("/register/cases", f"/register/cases/{user.case_ids[0]}",
                         "/register/analysis"):
                await timed(client, warm, "warm-up", "GET", path, 200)
    if warm.errors:
        raise RuntimeError(f"warm-up failed: {warm.errors}")
    start = asyncio.Event()
    stop_at = time.monotonic() + max_seconds
    coding_cases = users[-1].case_ids
    tasks = [asyncio.create_task(user_session(
        base, u, rounds, stop_at, coding_cases[i % len(coding_cases)],
        random.Random(rng.random()), tally, start)) for i, u in enumerate(users)]
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - began


def run_one(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    users, data = prepare(url, args.users)
    with server(url) as base:
        tally, elapsed = asyncio.run(load(base, users, args.rounds, args.max_seconds))
    lat = tally.latencies
    out: dict[str, Any] = {
        "database": label, "data": data, "users": len(users), "requests": len(lat),
        "errors": len(tally.errors), "seconds": round(elapsed, 2),
        "requests_per_second": round(len(lat) / elapsed, 1) if elapsed else None,
        "p50_ms": round(pct(lat, 0.5), 1), "p95_ms": round(pct(lat, 0.95), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        "pages": {page: {"requests": len(v), "p50_ms": round(pct(v, 0.5), 1),
                         "p95_ms": round(pct(v, 0.95), 1)}
                  for page, v in sorted(tally.by_page.items())},
        "first_errors": tally.errors[:5],
    }
    print(f"\n{label}: {data}")
    print(f"  {out['users']} concurrent users, {out['requests']} requests in "
          f"{out['seconds']} s ({out['requests_per_second']} per second), "
          f"{out['errors']} errors")
    print(f"  latency: p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, max {out['max_ms']} ms"
          f"  (target p95 < 200 ms: {'met' if out['p95_ms'] < 200 else 'NOT met'})")
    for page, figures in out["pages"].items():
        print(f"    {page:14s} {figures['requests']:5d} requests  p50 {figures['p50_ms']:7.1f}"
              f" ms  p95 {figures['p95_ms']:7.1f} ms")
    for line in out["first_errors"]:
        print(f"  error: {line}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="page rounds per user")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--think-ms", type=float, default=1000.0,
                        help="mean time a user reads a page before the next request "
                             "(uniform, 0.5 to 1.5 times this); 0 for back-to-back")
    parser.add_argument("--no-coding", action="store_true",
                        help="reads only: no case reviewer codes a case")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per database, each on a fresh database (default 1)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if not 2 <= args.users <= 500 or not 1 <= args.rounds <= 100 or not 1 <= args.repeat <= 20:
        parser.error("--users 2..500, --rounds 1..100 and --repeat 1..20")
    THINK[0] = max(0.0, args.think_ms) / 1000
    CODE[0] = not args.no_coding
    print(f"{args.users} users x {args.rounds} rounds; think time {args.think_ms:.0f} ms "
          f"(mean) between a user's requests; {'no codings' if args.no_coding else 'codings'}")
    results = []
    backends = [("SQLite", "sqlite")]
    if postgres_available():
        backends.append(("PostgreSQL", "postgresql"))
    for run in range(args.repeat):
        for label, backend in backends:
            with tempfile.TemporaryDirectory(prefix="vru-load-") as folder, \
                    scratch_database(backend, Path(folder)) as url:
                results.append({"run": run + 1, **run_one(label, url, args)})
    if not postgres_available():
        print("\nPostgreSQL: skipped (set VRU_TEST_POSTGRES_URL: "
              'export VRU_TEST_POSTGRES_URL="$(.ci/postgres.sh)")')
    write_results(args, results)
    failed = any(r["errors"] for r in results)
    return 1 if failed else 0


def write_results(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    summary: dict[str, Any] = {}
    for label in dict.fromkeys(r["database"] for r in results):
        runs = [r for r in results if r["database"] == label]
        p95 = [r["p95_ms"] for r in runs]
        summary[label] = {
            "runs": len(runs), "errors": sum(r["errors"] for r in runs),
            "best_p95_ms": min(p95), "median_p95_ms": round(statistics.median(p95), 1),
            "worst_p95_ms": max(p95),
            "meets_target": all(r["p95_ms"] < 200 and not r["errors"] for r in runs)}
        print(f"\n{label}: {len(runs)} run(s), p95 best {min(p95)} ms, median "
              f"{summary[label]['median_p95_ms']} ms, worst {max(p95)} ms")
    out = {
        "users": args.users, "rounds": args.rounds, "think_ms": args.think_ms,
        "codings": not args.no_coding, "max_seconds": args.max_seconds,
        "target_p95_ms": 200, "summary": summary, "runs": results,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "register_load_benchmark.json"
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"Written {path}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
