"""Memory of 4 idle workers over 200,000 scheduled jobs: `worker start --count 4` (one process, one
index) against `--count 4 --processes 4` (one process and one index per worker, as before).
Used by measure.py; standalone: python3 bench/workers_rss.py QUEUECTL WORKDIR [N]."""
import datetime, glob, json, os, shutil, subprocess, sys, time

N = 200_000
WORKERS = 4


def scheduled_home(q, home, n):
    """n pending jobs due in a day, written as `enqueue --delay` writes them: mtime = not_before."""
    subprocess.run([q, "init", "--home", home], capture_output=True, check=True)
    pending = os.path.join(home, "pending")
    now = datetime.datetime.now(datetime.timezone.utc)
    created = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03}Z"
    due = now + datetime.timedelta(days=1)
    not_before = due.strftime("%Y-%m-%dT%H:%M:%S.") + f"{due.microsecond // 1000:03}Z"
    stamp = due.timestamp()
    for i in range(n):
        job_id = f"sched{i:07}"
        job = {"id": job_id, "command": "true", "state": "pending", "attempts": 0, "max_retries": 3,
               "created_at": created, "updated_at": created, "not_before": not_before, "cwd": home}
        path = os.path.join(pending, job_id + ".json")
        with open(path, "w") as f:
            f.write(json.dumps(job, indent=2))
        os.utime(path, (stamp, stamp))


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_pids(home):
    pids = set()
    for path in glob.glob(os.path.join(home, "workers", "*.json")):
        try:
            with open(path) as f:
                pids.add(json.load(f)["pid"])
        except (OSError, ValueError):
            pass
    return sorted(pids)


def idle_rss_mb(q, home, processes, settle=10.0, timeout=300.0):
    """Starts the workers, waits until their total RSS has stopped growing for `settle` seconds
    (the index is built), keeps the highest total seen, stops them. The guards (bash, ~3 MB each)
    are not counted: they are the same either way."""
    subprocess.run([q, "worker", "start", "--home", home, "--count", str(WORKERS), "--processes", str(processes)],
                   capture_output=True, check=True)
    pids = worker_pids(home)
    assert len(pids) == processes, (pids, processes)
    peak, last_growth, start = 0, time.time(), time.time()
    while time.time() - last_growth < settle and time.time() - start < timeout:
        total = sum(rss_kb(p) for p in pids)
        if total > peak * 1.01:
            last_growth = time.time()
        peak = max(peak, total)
        time.sleep(0.25)
    subprocess.run([q, "worker", "stop", "--home", home], capture_output=True)
    return peak / 1024


def measure(q, work, n=N):
    home = os.path.join(work, "sched-home")
    shutil.rmtree(home, ignore_errors=True)
    scheduled_home(q, home, n)
    one = idle_rss_mb(q, home, processes=1)
    each = idle_rss_mb(q, home, processes=WORKERS)
    shutil.rmtree(home, ignore_errors=True)
    return one, each


if __name__ == "__main__":
    n = int(sys.argv[3]) if len(sys.argv) > 3 else N
    one, each = measure(sys.argv[1], sys.argv[2], n)
    print(f"RSS of {WORKERS} idle workers over {n:,} scheduled jobs: one process {one:.1f} MB, {WORKERS} processes {each:.1f} MB")
