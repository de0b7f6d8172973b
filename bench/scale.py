"""History costs nothing: each read path at 1,000 finished jobs against 200,000 (completed/ + dead/),
in one run, as a ratio (goal <= 3). Homes come from bench/synth.py (the tool's own job files).
usage: python3 bench/scale.py QUEUECTL [--big N] [--work DIR]
(--work DIR is kept, and homes already in it are measured again without being rewritten.)"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

ROUNDS = 5


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_ms(cmd):
    """One CLI call's wall time: posix_spawn, output to /dev/null, wait."""
    t = time.perf_counter_ns()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({status})")
    return (time.perf_counter_ns() - t) / 1e6


def http_ms(url, token):
    request = urllib.request.Request(url, headers={"X-Queuectl-Token": token})
    t = time.perf_counter_ns()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return (time.perf_counter_ns() - t) / 1e6


CLI = [
    ("`status`", ["status"]),
    ("`status --json`", ["status", "--json"]),
    ("`list --state completed --limit 20`", ["list", "--state", "completed", "--limit", "20"]),
    ("`list --state completed --newest --limit 20`", ["list", "--state", "completed", "--newest", "--limit", "20"]),
    ("`list --limit 20` (every state)", ["list", "--limit", "20"]),
    ("`list --newest --limit 20` (every state)", ["list", "--newest", "--limit", "20"]),
    ("`list dead --limit 20`", ["list", "dead", "--limit", "20"]),
    ("`list completed --grep echo --limit 20` (common match)", ["list", "completed", "--grep", "echo", "--limit", "20"]),
    ("`list completed --queue default --newest --limit 20`", ["list", "completed", "--queue", "default", "--newest", "--limit", "20"]),
    ("`stats`", ["stats"]),
    ("`stats --json`", ["stats", "--json"]),
]
REBUILD = "first `status`, index rebuilt from the folders (once)"
HTTP = [
    ("dashboard /api/status", "/api/status"),
    ("dashboard /api/jobs?state=completed", "/api/jobs?state=completed"),
    ("dashboard /api/jobs?state=completed&newest=1", "/api/jobs?state=completed&newest=1"),
    ("dashboard /api/jobs?state=dead", "/api/jobs?state=dead"),
    ("dashboard /api/jobs?state=completed&grep=echo&newest=1", "/api/jobs?state=completed&grep=echo&newest=1"),
    ("dashboard /metrics", "/metrics"),
]


def measure(q, home):
    results = {}
    # The homes are written by synth.py, not by queuectl: no ledger lines, so the first reader
    # rebuilds the finished index from the folders (once; what a home from an older queuectl costs).
    shutil.rmtree(os.path.join(home, "index"), ignore_errors=True)
    results[REBUILD] = run_ms([q, "status", "--home", home])
    for name, args in CLI:
        cmd = [q, *args, "--home", home]
        run_ms(cmd)  # warm-up: the page cache holds the folder, as it does for a dashboard scraped every second
        results[name] = statistics.median(run_ms(cmd) for _ in range(ROUNDS))
    server = subprocess.Popen([q, "dashboard", "--port", "0", "--home", home], stdout=subprocess.PIPE, text=True)
    try:
        url = token = None
        for line in server.stdout:
            if m := re.match(r"Dashboard on (\S+)/ ", line):
                url = m.group(1)
            if m := re.match(r"Token \(.*\): (\S+)", line):
                token = m.group(1)
                break
        for name, path in HTTP:
            http_ms(url + path, token)
            results[name] = statistics.median(http_ms(url + path, token) for _ in range(ROUNDS))
    finally:
        server.terminate()
        server.wait()
    return results


def main():
    args = argparse.ArgumentParser()
    args.add_argument("queuectl")
    args.add_argument("--big", type=int, default=200_000)
    args.add_argument("--work")
    opts = args.parse_args()
    work = opts.work or tempfile.mkdtemp(prefix="queuectl-scale.")
    os.makedirs(work, exist_ok=True)
    sizes = (1_000, opts.big)
    results = {}
    try:
        for n in sizes:
            home = os.path.join(work, f"scale{n}")
            if not os.path.isdir(os.path.join(home, "completed")):  # a kept --work dir is used again as it is
                subprocess.run([opts.queuectl, "init", "--home", home], check=True, capture_output=True)
                log(f"writing {n:,} finished jobs ...")
                synth.finished(home, n)
            log(f"measuring at {n:,} ...")
            results[n] = measure(opts.queuectl, home)
    finally:
        if not opts.work:
            shutil.rmtree(work, ignore_errors=True)
    small, big = results[sizes[0]], results[sizes[1]]
    rows = [(name, f"{small[name]:.1f}", f"{big[name]:.1f}", f"{big[name] / small[name]:.2f}", "<= 3",
             "yes" if big[name] / small[name] <= 3 else "NO") for name, _ in CLI + [(n, p) for n, p in HTTP]]
    rows.append((REBUILD, f"{small[REBUILD]:.1f}", f"{big[REBUILD]:.1f}", f"{big[REBUILD] / small[REBUILD]:.2f}", "(info)", "-"))
    header = ("read path, median of 5 (ms)", "1,000 finished", f"{sizes[1]:,} finished", "ratio", "goal", "met")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(6)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    return rows


if __name__ == "__main__":
    main()
