"""Bulk enqueue against its floor: the same 20,000 job files written by tmp + rename and ONE fsync
of pending/ (no per-file fsync). Used by measure.py; standalone: python3 bench/bulk.py QUEUECTL WORKDIR."""
import json, os, subprocess, sys, time

N = 20_000


def reference(home, n=N):
    """What `enqueue -` must at least do: one file per job, staged and renamed, one folder fsync."""
    tmp, pending = os.path.join(home, "tmp"), os.path.join(home, "pending")
    t = time.perf_counter()
    for i in range(n):
        now = "2025-01-01T00:00:00.000Z"
        job = {"id": f"ref{i:06}", "command": "true", "state": "pending", "attempts": 0, "max_retries": 3,
               "created_at": now, "updated_at": now, "cwd": home}
        staged = os.path.join(tmp, f".ref{i:06}.json.tmp")
        with open(staged, "w") as f:
            f.write(json.dumps(job, indent=2))
        os.rename(staged, os.path.join(pending, f"ref{i:06}.json"))
    fd = os.open(pending, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t


def queuectl(q, home, n=N):
    lines = "".join('{"command":"true"}\n' for _ in range(n))
    t = time.perf_counter()
    r = subprocess.run([q, "enqueue", "-", "--home", home, "--quiet"], input=lines, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if r.returncode != 0 or len(os.listdir(os.path.join(home, "pending"))) != n:
        raise SystemExit(f"bulk enqueue failed: {r.stderr}")
    return elapsed


def measure(q, work):
    """Alternates the two (fresh homes, nothing deleted in between: this VM's ext4 is slow to create
    files right after many deletions) and keeps each one's best of 2."""
    ref, qc = [], []
    for k in range(2):
        for name, fn in (("ref", lambda h: reference(h)), ("q", lambda h: queuectl(q, h))):
            home = os.path.join(work, f"bulk-{name}{k}")
            subprocess.run([q, "init", "--home", home], capture_output=True, check=True)
            (ref if name == "ref" else qc).append(fn(home))
    return min(ref), min(qc)


if __name__ == "__main__":
    r, c = measure(sys.argv[1], sys.argv[2])
    print(f"reference {r:.2f} s, queuectl {c:.2f} s, ratio {c / r:.2f}")
