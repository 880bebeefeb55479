"""The query benchmark's driver: runs each contender against one local org, a few rounds in
turn, and reports wall time, rows per second and CPU per 100,000 rows side by side.

`scripts/bench-query` starts the org and calls this; it needs only the standard library.
Each contender is a process of its own: its CPU time (user + system) comes from `wait4` on
that process, so nothing of the driver or the org is counted; its peak memory from
`/usr/bin/time` (a child forked from this driver would otherwise report at least the driver's
own); the org's CPU time over the same run is read from /proc. Contenders take turns within each round, so a slow spell
of the machine falls on all of them alike.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--org-info", required=True)
    p.add_argument("--org-pid", type=int, required=True)
    p.add_argument("--forcebridge", required=True)
    p.add_argument("--raw-pages", required=True)
    p.add_argument("--python", required=True, help="the virtualenv's python, with simple-salesforce")
    p.add_argument("--soql", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--pin", default="", help="CPU list for the contenders (taskset), or empty")
    p.add_argument("--out", required=True, help="directory for runs.jsonl and report.md")
    args = p.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    with open(args.org_info, encoding="utf-8") as f:
        org = json.loads(f.readline())
    cert = org["cert_file"]
    env = dict(os.environ)
    env.update(
        FORCEBRIDGE_ORG_INFO=args.org_info,
        REQUESTS_CA_BUNDLE=cert,
        NODE_EXTRA_CA_CERTS=cert,
        SSL_CERT_FILE=cert,
    )
    pin = ["taskset", "-c", args.pin] if args.pin else []
    fb = [args.forcebridge, "query"]
    contenders = [
        ("raw pages", lambda q: [args.raw_pages, org["url"], org["access_token"], cert, q]),
        ("forcebridge --jsonl", lambda q: fb + [q, "--jsonl"]),
        ("forcebridge --csv", lambda q: fb + [q, "--csv"]),
        ("forcebridge --json", lambda q: fb + [q, "--json"]),
        ("simple-salesforce query_all", lambda q: [args.python, os.path.join(here, "simple_salesforce_query.py"), q]),
        ("jsforce autoFetch", lambda q: ["node", os.path.join(here, "jsforce_query.mjs"), q]),
    ]
    forcebridge = {name for name, _ in contenders if name.startswith("forcebridge")}

    # The number of rows and bytes, and a check that forcebridge writes them all.
    total, body_bytes = map(int, run(pin + contenders[0][1](args.soql), env, args.org_pid, capture=True)["stdout"].split())
    jsonl = run(pin + fb + [args.soql, "--jsonl"], env, args.org_pid, capture=True)["stdout"]
    assert jsonl.count("\n") == total, (jsonl.count("\n"), total)
    del jsonl
    # A first pass warms the org up (its caches, the page cache of every binary).
    for _, command in contenders:
        run(pin + command(args.soql), env, args.org_pid)

    one_row = args.soql + " LIMIT 1"
    os.makedirs(args.out, exist_ok=True)
    runs = []
    with open(os.path.join(args.out, "runs.jsonl"), "w", encoding="utf-8") as log:
        for round_ in range(1, args.rounds + 1):
            for name, command in contenders:
                measured = run(pin + command(args.soql), env, args.org_pid, capture=name not in forcebridge)
                if name not in forcebridge:
                    got = int(measured["stdout"].split()[0])
                    assert got == total, (name, got, total)
                startup = run(pin + command(one_row), env, args.org_pid)
                row = {
                    "contender": name,
                    "round": round_,
                    "rows": total,
                    "wall_s": measured["wall_s"],
                    "cpu_s": measured["cpu_s"],
                    "user_s": measured["user_s"],
                    "sys_s": measured["sys_s"],
                    "peak_rss_mb": measured["peak_rss_mb"],
                    "org_cpu_s": measured["org_cpu_s"],
                    "startup_cpu_s": startup["cpu_s"],
                }
                runs.append(row)
                log.write(json.dumps(row) + "\n")
                log.flush()
                print(
                    f"round {round_} {name:<28} {row['wall_s']:7.2f} s wall  {row['cpu_s']:6.2f} s CPU"
                    f"  org {row['org_cpu_s']:5.2f} s  {row['peak_rss_mb']:6.0f} MB",
                    flush=True,
                )
    report = table(runs, [name for name, _ in contenders], total, body_bytes)
    with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
        f.write(report)
    print()
    print(report)


def run(command, env, org_pid, capture=False):
    """Runs one process to its end; its wall time, CPU time, peak memory and the org's CPU."""
    memory_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-query-rss-{os.getpid()}")
    org_before = process_cpu(org_pid)
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", "-o", memory_file] + command,
        env=env,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stdout = process.stdout.read() if capture else b""
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({process.returncode}): {stderr.decode(errors='replace')}")
    with open(memory_file, encoding="ascii") as f:
        peak_kb = int(f.read().split()[-1])
    os.remove(memory_file)
    return {
        "stdout": stdout.decode(),
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak_kb / 1024,
        "org_cpu_s": process_cpu(org_pid) - org_before,
    }


def process_cpu(pid):
    """A process's CPU time so far (user + system), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def table(runs, names, total, body_bytes):
    def of(name, key):
        return [r[key] for r in runs if r["contender"] == name]

    def spread(values, fmt):
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"

    per_100k = lambda cpu: cpu * 100_000 / total
    raw_wall = statistics.median(of("raw pages", "wall_s"))
    peers = {
        "simple-salesforce": statistics.median(of("simple-salesforce query_all", "cpu_s")),
        "jsforce": statistics.median(of("jsforce autoFetch", "cpu_s")),
    }
    lines = [
        f"{total:,} rows ({body_bytes / 1e6:,.0f} MB of JSON after gzip); medians of {len(of(names[0], 'wall_s'))} rounds (min–max).",
        "",
        "| | wall s | rows/s | % of raw rate | CPU s per 100k rows | simple-salesforce CPU ÷ this | jsforce CPU ÷ this | CPU s of a 1-row query | peak memory MB | org CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        wall = of(name, "wall_s")
        cpu = of(name, "cpu_s")
        median_cpu = statistics.median(cpu)
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    spread(wall, "{:.2f}"),
                    f"{total / statistics.median(wall):,.0f}",
                    f"{100 * raw_wall / statistics.median(wall):.0f}%",
                    spread([per_100k(c) for c in cpu], "{:.3f}"),
                    f"{peers['simple-salesforce'] / median_cpu:.1f}×",
                    f"{peers['jsforce'] / median_cpu:.1f}×",
                    f"{statistics.median(of(name, 'startup_cpu_s')):.3f}",
                    f"{statistics.median(of(name, 'peak_rss_mb')):.0f}",
                    f"{statistics.median(of(name, 'org_cpu_s')):.2f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
