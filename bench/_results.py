"""Writing one benchmark's marked section of bench/RESULTS.md (shared by the bench scripts)."""
from __future__ import annotations

import fcntl
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, start: str, end: str, path: Path = RESULTS) -> None:
    """Replace the section between the markers ``start`` and ``end`` (or append it), under a lock;
    leave the rest of the file alone (other benchmarks write other sections)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:  # an advisory lock on the file itself, against two writers at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: section, text)
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        path.write_text(text, encoding="utf-8")
