#!/usr/bin/env python3
"""What one job costs a worker, item by item: one foreground worker runs N `true` jobs under
`strace -f -T`; its own system calls (its threads, not the job processes it starts) are grouped by
what they do and the folder they touch, and printed per job. Times are time inside each call as
strace saw it (strace slows every call: compare rows, not totals with bench/run's other figures);
rows marked "wait" block until something happens (a child exits, a pipe has data) and cost no CPU.
usage: bench/perjob.py --queuectl BINARY --work DIR [--jobs N]   (bench/run calls it when strace is installed)
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--queuectl", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--jobs", type=int, default=500)
opts = ap.parse_args()
Q, N = opts.queuectl, opts.jobs
home = os.path.join(opts.work, "perjob")
subprocess.run([Q, "init", "--home", home], check=True, capture_output=True)
for i in range(N):
    path = os.path.join(home, "tmp", f"j{i:05}.json")
    with open(path, "w") as f:
        json.dump({"id": f"j{i:05}", "command": "true"}, f)
    os.rename(path, os.path.join(home, "pending", f"j{i:05}.json"))
trace = os.path.join(opts.work, "perjob.strace")
worker = subprocess.Popen(["strace", "-f", "-T", "-o", trace, Q, "worker", "start", "--foreground", "--home", home],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 600
while len(os.listdir(os.path.join(home, "completed"))) < N:
    if time.time() > deadline:
        worker.kill()
        raise SystemExit("perjob: timed out waiting for the jobs")
    time.sleep(0.1)
subprocess.run([Q, "worker", "stop", "--home", home], capture_output=True)
worker.wait()

FOLDERS = ("pending/", "processing/", "completed/", "logs/", "workers/", "tmp/", "stats/", "config.json")
WAITS = {"futex", "poll", "ppoll", "epoll_wait", "wait4", "waitid", "read", "nanosleep", "clock_nanosleep"}
calls, unfinished, execed = [], {}, set()
for line in open(trace):
    line = line.rstrip("\n")
    m = re.match(r"^(\d+)\s+<\.\.\. (\w+) resumed>.*<([\d.]+)>$", line)
    if m:
        pid, name, took = m.groups()
        calls.append((pid, name, unfinished.pop((pid, name), ""), float(took)))
        continue
    m = re.match(r"^(\d+)\s+(\w+)\((.*)$", line)
    if not m:
        continue
    pid, name, rest = m.groups()
    if name == "execve":
        execed.add(pid)  # a job's process (or the guard's shell): not the worker's own work
    if rest.endswith("<unfinished ...>"):
        unfinished[(pid, name)] = rest
        continue
    took = re.search(r"<([\d.]+)>$", rest)
    calls.append((pid, name, rest, float(took.group(1)) if took else 0.0))

items = collections.defaultdict(lambda: [0, 0.0])
for pid, name, args, took in calls:
    if pid in execed:
        continue
    folder = next((f for f in FOLDERS if f in args), "") if '"' in args else ""
    items[(name, folder)][0] += 1
    items[(name, folder)][1] += took
print(f"\nper-job work of one worker over {N:,} `true` jobs (strace -f -T, the worker's own system calls; "
      "calls under 0.05 a job left out)")
print(f"{'system call':15} {'on':12} {'calls/job':>9} {'us/job':>9}")
for (name, folder), (n, took) in sorted(items.items(), key=lambda kv: (kv[0][0] in WAITS, -kv[1][1])):
    if n / N >= 0.05:
        wait = "  wait" if name in WAITS else ""
        print(f"{name:15} {folder:12} {n / N:9.2f} {took / N * 1e6:9.1f}{wait}")
own = [(n, t) for (name, _), (n, t) in items.items() if name not in WAITS]
print(f"{'total, no waits':28} {sum(n for n, _ in own) / N:9.2f} {sum(t for _, t in own) / N * 1e6:9.1f}")
