"""The machine a benchmark ran on, for its printed table: the CPU's model name and this process's peak memory."""
from __future__ import annotations

import platform
import resource
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name ("AMD EPYC 9B14", "Intel(R) Xeon(R) ...") from /proc/cpuinfo, else what platform
    says (on Linux platform.processor() is often empty or just the architecture)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss() -> float:
    """This process's peak resident set in bytes: VmHWM of /proc/self/status (unlike ru_maxrss it does not count
    the parent's resident set inherited across fork + exec), else ru_maxrss (KiB on Linux)."""
    try:
        line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        return float(line.split()[1]) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
