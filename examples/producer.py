#!/usr/bin/env python3
"""Enqueue without the CLI, from Python (standard library only): write into tmp/, rename into pending/.

usage: examples/producer.py HOME COMMAND [PRIORITY]
"""
import json
import os
import sys
import uuid


def enqueue(home: str, command: str, priority: int = 0) -> str:
    job_id = f"py-{uuid.uuid4().hex[:12]}"
    staged = os.path.join(home, "tmp", f"{job_id}.json")
    with open(staged, "w", encoding="utf-8") as f:
        json.dump({"id": job_id, "command": command, "priority": priority, "meta": {"producer": "producer.py"}}, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(staged, os.path.join(home, "pending", f"{job_id}.json"))  # atomic: the job appears whole
    return job_id


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    print(enqueue(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
