"""Synthetic queue homes in the tool's own job file format, written quickly (no CLI, no fsync).

finished(home, n): n finished jobs, ids as `enqueue` makes them (creation time + 8 hex digits,
so they sort by enqueue time), one second apart, 1 in 20 dead; each file has the fields a
worker writes (history entry included) and its finish time as mtime, like a real finish. A
counter file stats/w-synth.json says the same totals, as a worker's would.
Standalone: python3 bench/synth.py HOME N   (HOME must exist: `queuectl init --home HOME`)."""
import json, os, sys
from datetime import datetime, timedelta, timezone

START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def job_id(t, i):
    return t.strftime("%Y%m%d-%H%M%S-") + f"{t.microsecond // 1000:03d}-{i * 2654435761 % 2**32:08x}"


def finished(home, n, dead_every=20, queue=None):
    counts = {"completed": 0, "dead": 0}
    for state in counts:
        os.makedirs(os.path.join(home, state), exist_ok=True)
    for i in range(n):
        created = START + timedelta(seconds=i)
        started, done = created + timedelta(milliseconds=200), created + timedelta(milliseconds=700)
        state = "dead" if dead_every and i % dead_every == dead_every - 1 else "completed"
        counts[state] += 1
        ident = job_id(created, i)
        exit_code = 0 if state == "completed" else 1
        job = {"id": ident}
        if queue:
            job["queue"] = queue
        job.update({
            "command": f"echo job {i}", "state": state, "attempts": 1, "max_retries": 0 if state == "dead" else 3,
            "created_at": stamp(created), "updated_at": stamp(done), "cwd": "/tmp", "worker_id": "w-synth",
            "started_at": stamp(started), "finished_at": stamp(done), "exit_code": exit_code,
            "history": [{"attempt": 1, "worker": "w-synth", "started_at": stamp(started), "finished_at": stamp(done),
                         "duration_seconds": 0.5, "exit_code": exit_code, "outcome": state}],
        })
        if state == "dead":
            job["last_error"] = "exit code 1"
        path = os.path.join(home, state, ident + ".json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, json.dumps(job, indent=2).encode() + b"\n")
        os.close(fd)
        os.utime(path, (done.timestamp(), done.timestamp()))
    os.makedirs(os.path.join(home, "stats"), exist_ok=True)
    with open(os.path.join(home, "stats", "w-synth.json"), "w") as f:
        json.dump({"worker": "w-synth", "updated_at": stamp(START), "queues": {
            queue or "default": {"completed": counts["completed"], "failed": 0, "dead": counts["dead"]}}}, f, indent=2)
    return counts


if __name__ == "__main__":
    print(finished(sys.argv[1], int(sys.argv[2])))
