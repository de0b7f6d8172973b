"""The measurements behind bench/run. Every figure is taken in this one run, next to its baseline."""
import argparse, glob, json, os, shutil, statistics, subprocess, sys, time
from datetime import datetime

args = argparse.ArgumentParser()
args.add_argument("--work", required=True)
args.add_argument("--spawn", required=True)
args.add_argument("--durable", required=True)
args.add_argument("--protocol", required=True)
args.add_argument("--queuectl", required=True)
args.add_argument("--jit", required=True)
args.add_argument("--wrapper", required=True)
args.add_argument("--hello", required=True)
args.add_argument("--hello-jit", required=True)
args.add_argument("--quick", action="store_true")
opts = args.parse_args()
Q = opts.queuectl
rows = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def q(home, *a, check=True):
    r = subprocess.run([Q, *a, "--home", home], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit(f"queuectl {' '.join(a)} failed: {r.stderr}")
    return r.stdout


def new_home(name):
    home = os.path.join(opts.work, name)
    q(home, "init")
    return home


def ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def drop(home, jobs):
    """Enqueue the way any program may: write into tmp/, rename into pending/ (no CLI, no fsync)."""
    tmp = os.path.join(home, "tmp")
    for job in jobs:
        path = os.path.join(tmp, job["id"] + ".json")
        with open(path, "w") as f:
            json.dump(job, f)
        os.rename(path, os.path.join(home, "pending", job["id"] + ".json"))


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def count(home, state):
    return len(os.listdir(os.path.join(home, state)))


def start_workers(home, n):
    ids = q(home, "worker", "start", "--count", str(n)).split()
    return [json.load(open(os.path.join(home, "workers", i + ".json")))["pid"] for i in ids]


def stop_workers(home):
    q(home, "worker", "stop", "--timeout", "120s", check=False)


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rate(home, skip=200, upto=None):
    """Steady-state jobs/s from the finish times, leaving out the first `skip` (workers starting up)."""
    done = sorted(ts(json.load(open(p))["finished_at"]) for p in glob.glob(os.path.join(home, "completed", "*.json")))
    done = done[:upto] if upto else done
    return (len(done) - 1 - skip) / (done[-1] - done[skip])


def pct(values, p):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p * len(values) + 0.5)) - 1))]


def row(metric, baseline, value, ratio, goal, met):
    rows.append((metric, baseline, value, ratio, goal, "yes" if met else "NO"))


# 1. throughput against the machine's spawn limit
log("spawn limit ...")
busy_rss = 0.0
rates, spawn_rates, floor_rates = [], [], []
for run in range(3):
    # In turn with queuectl's runs: the bare spawn limit, and the same spawns with a job's durable
    # file work around each (bench/protocol.c), the floor of any worker that keeps that durability.
    spawn_rates.append(float(subprocess.check_output([opts.spawn, "2000", "4"])))
    floor_dir = os.path.join(opts.work, f"protocol{run}")
    os.makedirs(floor_dir)
    floor_rates.append(float(subprocess.check_output([opts.protocol, floor_dir, "2000", "4"])))
    shutil.rmtree(floor_dir)
    home = new_home(f"throughput{run}")
    drop(home, [{"id": f"t{i:05}", "command": "true"} for i in range(2000)])
    pids = start_workers(home, 4)
    while count(home, "completed") < 2000:
        busy_rss = max([busy_rss] + [rss_mb(p) for p in pids if os.path.exists(f"/proc/{p}")])
        time.sleep(0.05)
    rates.append(rate(home))
    stop_workers(home)
q_rate, spawn_rate, floor_rate = statistics.median(rates), statistics.median(spawn_rates), statistics.median(floor_rates)
row("throughput, 2,000 `true` jobs, 4 workers, median of 3 (jobs/s)", f"{spawn_rate:.0f} (C posix_spawn, 4 in flight)", f"{q_rate:.0f}",
    f"{q_rate / spawn_rate:.2f}", ">= 0.8", q_rate / spawn_rate >= 0.8)
row("  floor: C, the spawns + each job's file work (3 fsyncs)", f"{spawn_rate:.0f}", f"{floor_rate:.0f}", f"{floor_rate / spawn_rate:.2f}",
    "(info)", True)
row("  queuectl against that floor", f"{floor_rate:.0f}", f"{q_rate:.0f}", f"{q_rate / floor_rate:.2f}", "(info)", True)

# 2. pickup latency: rename into pending/ -> the command runs
log("pickup latency ...")
home = new_home("pickup")
out = os.path.join(opts.work, "pickup-out")
os.makedirs(out)
pids = start_workers(home, 2)
time.sleep(1.0)  # workers idle, their first scan done
idle_rss = max(rss_mb(p) for p in pids)
lat = []
for i in range(60):
    job = {"id": f"p{i}", "command": f"date +%s%N > {out}/p{i}"}
    path = os.path.join(home, "tmp", f"p{i}.json")
    with open(path, "w") as f:
        json.dump(job, f)
    t0 = time.time_ns()
    os.rename(path, os.path.join(home, "pending", f"p{i}.json"))
    result = os.path.join(out, f"p{i}")
    wait_for(lambda: os.path.exists(result) and os.path.getsize(result) > 0, 10, "a pickup")
    lat.append((int(open(result).read()) - t0) / 1e6)
stop_workers(home)
# The same command started directly (posix_spawn of sh -c, as a worker does): what no queue can beat.
direct = []
for i in range(60):
    t0 = time.time_ns()
    pid = os.posix_spawn("/bin/sh", ["sh", "-c", f"date +%s%N > {out}/d{i}"], os.environ)
    os.waitpid(pid, 0)
    direct.append((int(open(os.path.join(out, f"d{i}")).read()) - t0) / 1e6)
p50, p95, d50 = statistics.median(lat), pct(lat, 0.95), statistics.median(direct)
row("pickup latency p50, rename -> command start (ms)", "-", f"{p50:.1f}", "-", "<= 10", p50 <= 10)
row("pickup latency p95 (ms)", "-", f"{p95:.1f}", "-", "<= 50", p95 <= 50)
row("pickup p50 over a direct spawn of the same command (ms)", f"{d50:.1f} (posix_spawn sh -c, p50)", f"{p50 - d50:.1f}", "-", "<= 2",
    p50 - d50 <= 2)

# 3. retry punctuality: a failed attempt's not_before -> the retry's command start
log("retry punctuality ...")
home = new_home("retry")
q(home, "config", "set", "backoff-base", "1")
out = os.path.join(opts.work, "retry-out")
os.makedirs(out)
drop(home, [{"id": f"r{i}", "command": f'[ "$QUEUECTL_ATTEMPT" -ge 2 ] || exit 1; date +%s%N > {out}/r{i}'} for i in range(40)])
start_workers(home, 2)
wait_for(lambda: count(home, "completed") == 40, 120, "retried jobs")
stop_workers(home)
late = []
for i in range(40):
    job = json.load(open(os.path.join(home, "completed", f"r{i}.json")))
    not_before = ts(job["history"][0]["finished_at"]) + 1.0  # backoff-base 1: 1 s after the 1st failure
    late.append(int(open(os.path.join(out, f"r{i}")).read()) / 1e9 - not_before)
late_ms = [x * 1000 for x in late]
row("retry start - not_before, p95 (ms)", "-", f"{pct(late_ms, 0.95):.0f} (min {min(late_ms):.0f})", "-", "<= 200",
    pct(late_ms, 0.95) <= 200 and min(late_ms) >= -1)

# 4. one CLI call against an empty program's start-up, and against python3 -c pass
log("CLI start-up ...")


def run_ms(cmd):
    """One run's wall time: posix_spawn (no fork of this interpreter), output to /dev/null, wait."""
    t = time.perf_counter_ns()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    os.waitpid(pid, 0)
    return (time.perf_counter_ns() - t) / 1e6


def interleaved(cmds, n=20):
    """Median ms of each command, run in turn (A B C A B C ...) after one warm-up each, so drift hits all alike."""
    for cmd in cmds:
        run_ms(cmd)
    times = [[] for _ in cmds]
    for _ in range(n):
        for i, cmd in enumerate(cmds):
            times[i].append(run_ms(cmd))
    return [statistics.median(t) for t in times]


home = new_home("cli")
status_home = new_home("cli-status")
drop(status_home, [{"id": f"s{i}", "command": "true"} for i in range(10)])
durable_home = os.path.join(opts.work, "durable-home")
os.makedirs(os.path.join(durable_home, "tmp"))
os.makedirs(os.path.join(durable_home, "pending"))
W, E, S = opts.wrapper, ["enqueue", "--command", "true", "--home", home], ["status", "--home", status_home]
# The floors no `./queuectl` can go under: the wrapper is a sh script (one sh start, then exec),
# and `enqueue` makes one durable write (tmp file, fsync, rename, folder fsync), timed here in C.
hello, w_enq, w_status, b_enq, b_status, sh_hello, durable = interleaved(
    [[opts.hello], [W, *E], [W, *S], [Q, *E], [Q, *S], ["/bin/sh", "-c", 'exec "$0"', opts.hello], [opts.durable, durable_home]])
hello_jit, jit_enq, jit_status = interleaved([[opts.hello_jit], [opts.jit, *E], [opts.jit, *S]])
aot_kind = "NativeAOT" if opts.hello != opts.hello_jit else "JIT: no clang"
row("`./queuectl enqueue`, median of 20, interleaved (ms)", f"{hello:.1f} (hello world, {aot_kind})", f"{w_enq:.1f}",
    f"{w_enq / hello:.2f}", "<= 1.5", w_enq / hello <= 1.5)
row("`./queuectl status` (10 pending)", f"{hello:.1f}", f"{w_status:.1f}", f"{w_status / hello:.2f}", "<= 1.5", w_status / hello <= 1.5)
row("  `enqueue`, the binary without the wrapper", f"{hello:.1f}", f"{b_enq:.1f}", f"{b_enq / hello:.2f}", "(info)", True)
row("  `status`, the binary without the wrapper", f"{hello:.1f}", f"{b_status:.1f}", f"{b_status / hello:.2f}", "(info)", True)
row("  floor of a wrapper script: `sh -c 'exec hello'`", f"{hello:.1f}", f"{sh_hello:.1f}", f"{sh_hello / hello:.2f}", "(info)", True)
row("  floor of `enqueue`: the same + its durable write in C", f"{hello:.1f}", f"{sh_hello + durable:.1f}",
    f"{(sh_hello + durable) / hello:.2f}", "(info)", True)
row("JIT build (QUEUECTL_BUILD=jit) `enqueue` (ms)", f"{hello_jit:.1f} (hello world, JIT)", f"{jit_enq:.1f}",
    f"{jit_enq / hello_jit:.2f}", "<= 2.0", jit_enq / hello_jit <= 2.0)
row("  JIT build `status`", f"{hello_jit:.1f}", f"{jit_status:.1f}", f"{jit_status / hello_jit:.2f}", "(info)", True)
py, py_direct, aot = interleaved([["python3", "-c", "pass"], [shutil.which("python3", path="/usr/bin") or "python3", "-c", "pass"],
                                  [W, *E]], n=30)
row("`./queuectl enqueue`, median of 30 (ms)", f"{py:.1f} (python3 -c pass)", f"{aot:.1f}", f"{aot / py:.2f}", "<= 1.0", aot / py <= 1.0)
row("  the same, against /usr/bin/python3 (no pyenv shim)", f"{py_direct:.1f}", f"{aot:.1f}", f"{aot / py_direct:.2f}", "(info)", True)

# 5. backlog: throughput and status at 1,000 and at 100,000 pending
big = 10_000 if opts.quick else 100_000
results = {}
for n in (1_000, big):
    log(f"backlog of {n} ...")
    home = new_home(f"backlog{n}")
    drop(home, [{"id": f"b{i:06}", "command": "true", "created_at": "2025-01-01T00:00:00Z"} for i in range(n)])
    status = statistics.median(
        (lambda t: (subprocess.run([Q, "status", "--home", home], capture_output=True), time.perf_counter() - t)[1])(time.perf_counter())
        for _ in range(5))
    # The floor of any count that reads mtimes: one listing and one lstat per file (find, in C).
    floor = statistics.median(
        (lambda t: (subprocess.run(["find", os.path.join(home, "pending"), "-maxdepth", "1", "-printf", "%T@ %s\n"], capture_output=True),
                    time.perf_counter() - t)[1])(time.perf_counter())
        for _ in range(5))
    pids = start_workers(home, 4)
    wait_for(lambda: count(home, "completed") >= 950, 600, "backlog progress")
    results[n] = (rate(home, skip=200, upto=900), status, max(rss_mb(p) for p in pids if os.path.exists(f"/proc/{p}")), floor)
    stop_workers(home)
    shutil.rmtree(home)
r_small, r_big = results[1_000][0], results[big][0]
row(f"throughput at {big:,} pending vs 1,000 (jobs/s)", f"{r_small:.0f}", f"{r_big:.0f}", f"{r_big / r_small:.2f}", ">= 0.9", r_big / r_small >= 0.9)
row(f"`status` with {big:,} pending (s)", f"{results[1_000][1]:.3f} (1,000)", f"{results[big][1]:.3f}", "-", "<= 0.5", results[big][1] <= 0.5)
row(f"  the same against `find -printf '%T@ %s'` of pending/ (s)", f"{results[big][3]:.3f}", f"{results[big][1]:.3f}",
    f"{results[big][1] / results[big][3]:.2f}", "(info)", True)

# 6. memory
row("RSS of an idle worker (MB)", "-", f"{idle_rss:.1f}", "-", "<= 40", idle_rss <= 40)
row("RSS of a busy worker, max while running (MB)", "-", f"{busy_rss:.1f}", "-", "<= 40", busy_rss <= 40)
row(f"  RSS of a worker indexing {big:,} pending (MB)", "-", f"{results[big][2]:.1f}", "-", "(info)", True)

# 7. bulk enqueue of 20,000 jobs against tmp + rename + one folder fsync
log("bulk enqueue ...")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulk  # noqa: E402
ref_s, bulk_s = bulk.measure(Q, opts.work)
row(f"`enqueue -` of {bulk.N:,} jobs, best of 2 (s)", f"{ref_s:.2f} (tmp+rename, 1 folder fsync)", f"{bulk_s:.2f}",
    f"{bulk_s / ref_s:.2f}", "<= 2.0", bulk_s / ref_s <= 2.0)

# 8. 4 idle workers over 200,000 scheduled jobs: one process (one index) against one process each
log("workers over scheduled jobs ...")
import workers_rss  # noqa: E402
sched = 20_000 if opts.quick else workers_rss.N
one_mb, each_mb = workers_rss.measure(Q, opts.work, sched)
row(f"RSS of 4 idle workers over {sched:,} scheduled jobs, together (MB)", f"{each_mb:.1f} (--processes 4)", f"{one_mb:.1f}",
    f"{one_mb / each_mb:.2f}", "<= 150 MB", one_mb <= 150)

widths = [max(len(str(r[i])) for r in rows + [("metric", "baseline", "queuectl", "ratio", "goal", "met")]) for i in range(6)]
header = ("metric", "baseline", "queuectl", "ratio", "goal", "met")
print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
print("-+-".join("-" * w for w in widths))
for r in rows:
    print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
print(f"\nmachine: {os.cpu_count()} cores; queuectl binary: {Q}")
