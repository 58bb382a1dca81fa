"""Growth: the ceiling's reads and a post at 1 thousand, 100 thousand and 1 million comments.

For each size a fresh database is seeded with bulk inserts (``ceiling.seed``: the measured
thread of 100 top-level comments, the rest over the other pages with 3 replies to each
top-level comment, interleaved in time and id), then Parley runs under gunicorn with 2 sync
workers (the issue's set-up, ``PARLEY_RATELIMIT_ENABLED=false``) and wrk drives each row
as ``bench/ceiling.py`` does. The rate at each size is compared with the rate at 1
thousand comments: the issue wants the 1-million figure within 1.5x of the 1-thousand one.
After each size's runs the script reads the resident memory (VmRSS) of gunicorn's workers.

    .venv/bin/python bench/growth.py [--quick] [--no-postgres | --no-sqlite]
        [--sizes 1000,100000,1000000] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
from dataclasses import dataclass

import _common as c
import _serve as s
import ceiling
import load

ROWS = ("thread", "fragment", "conditional", "counts", "post")
PAGES = {1_000: 100, 100_000: 2_000, 1_000_000: 10_000}
LIMIT = 1.5  # the issue: the 1-million figure within 1.5x of the 1-thousand one


@dataclass
class Measured:
    size: int
    pages: int
    seed_seconds: float
    rates: dict[str, float]
    p50: dict[str, float]
    notes: dict[str, str]
    rss: list[float]
    problems: list[str]
    other_cpu: float


def measure_size(backend: str, size: int, args: argparse.Namespace) -> Measured:
    pages = PAGES.get(size, max(100, size // 100))
    with (
        c.instance_folder(f"growth-{size}") as folder,
        ceiling.backend_database(backend, folder) as (url, redis),
    ):
        env = ceiling.environment(folder, url, redis)
        keys, seeded = ceiling.prepare(folder, url, env, size, pages)
        print(f"  {backend} {size:,} comments over {pages:,} pages: seeded in {seeded:.1f}s")
        with s.gunicorn("parley", s.SYNC2, "wsgi:app", env, folder) as parley:
            token = json.loads(s.fetch(parley.port, "GET", "/api/v1/form-token").body)
            issued = time.monotonic()
            rows = [
                row
                for row in ceiling.build_rows(
                    parley, keys, [], token["form_token"], secrets.token_hex(4)
                )
                if row.name in ROWS
            ]
            ceiling.warm(parley, rows, True)
            time.sleep(max(0.0, issued + 3.5 - time.monotonic()))
            pids = [*parley.pids(), *load.postgres_backends(url)]
            rates, p50, notes, problems, others = {}, {}, {}, [], []
            for row in rows:
                notes[row.name] = row.note
                if row.parley is None:
                    continue
                for _ in range(args.rounds):
                    (result,) = s.calm(
                        lambda row=row: [
                            s.wrk(
                                parley.port,
                                row.parley,
                                args.seconds,
                                args.connections,
                                cpu_pids=pids,
                            )
                        ],
                        args.max_other,
                    )
                    row.parley_loads.append(result)
                    others.append(result.other_cpu)
                    problems += [f"{row.name}: {p}" for p in ceiling.check_row(row, result)]
                rates[row.name] = statistics.median(x.rate for x in row.parley_loads)
                p50[row.name] = statistics.median(x.p50_ms for x in row.parley_loads)
            rss = parley.worker_rss_mb()
            post = next(r for r in rows if r.name == "post")
            checked, post_problems = ceiling.check_posts(
                folder, url, post.parley_loads, ceiling.post_keys(keys)
            )
            problems += post_problems + parley.problems()
            notes["post"] = f"{checked} answers checked"
    return Measured(size, pages, seeded, rates, p50, notes, rss, problems, max(others, default=0))


def report(backend: str, measured: list[Measured]) -> None:
    base = measured[0]
    print()
    print(f"### {backend}, gunicorn -w 2 -k sync")
    print()
    headers = ["row"] + [f"{m.size:,} req/s (p50 ms)" for m in measured]
    headers += [f"{base.size:,} / {m.size:,} time" for m in measured[1:]]
    out = []
    for name in ROWS:
        if name not in base.rates:
            out.append([name, *["n/a"] * (len(headers) - 1)])
            continue
        cells = [f"{m.rates[name]:.1f} ({m.p50[name]:.1f})" for m in measured]
        for m in measured[1:]:
            slower = base.rates[name] / m.rates[name]
            verdict = "" if m.size < 1_000_000 else (" ok" if slower <= LIMIT else " OVER 1.5x")
            cells.append(f"{slower:.2f}x{verdict}")
        out.append([name, *cells])
    out.append(
        ["worker RSS MB", *[", ".join(f"{x:.0f}" for x in m.rss) for m in measured]]
        + [""] * (len(measured) - 1)
    )
    out.append(
        ["seed seconds", *[f"{m.seed_seconds:.0f}" for m in measured]] + [""] * (len(measured) - 1)
    )
    print(c.table(headers, out))
    print()
    for m in measured:
        print(
            f"{m.size:,}: {m.pages:,} pages; {m.notes.get('post', '')}; "
            f"other CPU at most {m.other_cpu:.0%}; problems: {m.problems[:5] or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k comments, 1 s runs")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL + Redis only")
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--seconds", type=int, default=5, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c")
    parser.add_argument(
        "--max-other",
        type=float,
        default=s.MAX_OTHER,
        help="take a run again when other processes used more than this share of the CPU",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seconds, args.rounds, args.max_other = "1000,10000", 1, 1, 1.0
    missing = s.wrk_missing()
    if missing:
        raise SystemExit(f"growth: {missing}")
    sizes = [int(x) for x in args.sizes.split(",")]
    print(
        f"growth: {c.machine()}; wrk -t 1 -c {args.connections}, {args.seconds} s x {args.rounds}"
    )
    print(f"  code measured: {c.ROOT}")
    backends = [] if args.no_sqlite else ["SQLite"]
    why_not = (
        "skipped (--no-postgres)"
        if args.no_postgres
        else load.postgres_unavailable() or ceiling.redis_unavailable()
    )
    if why_not:
        print(f"  PostgreSQL + Redis: {why_not}")
    else:
        backends.append("PostgreSQL + Redis")
    results = {}
    for backend in backends:
        results[backend] = []
        for size in sizes:
            started = time.perf_counter()
            results[backend].append(measure_size(backend, size, args))
            print(f"    {size:,} took {time.perf_counter() - started:.0f}s in all")
    for backend, measured in results.items():
        report(backend, measured)


if __name__ == "__main__":
    main()
