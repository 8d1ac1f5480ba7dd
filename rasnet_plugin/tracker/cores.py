"""Use only the cores other processes leave idle (`TRACK.SHARE_CORES`).

A frame is many short parallel regions (convolutions, the fused op). When another process
keeps a core busy, a thread of ours that shares that core is descheduled for whole time
slices and every region waits for it: on a 2-core Xeon with one busy process beside it,
2 threads kept 16-23% of their quiet frame rate, where 1 thread keeps most of a core's
worth. So before a frame the tracker counts the runnable tasks that are not its own
(Linux /proc; elsewhere nothing changes) and runs the frame on
`min(torch threads, free cores)` threads, at least one, then restores the thread count:
the process-wide setting is the caller's. The count is refreshed every `interval` seconds.
"""
import os
import time
from contextlib import contextmanager

import torch

__all__ = ["busy_elsewhere", "CoreShare"]


def _own_running():
    """Tasks (threads) of this process in state R."""
    running = 0
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/self/task/%s/stat" % tid) as f:
                # "pid (comm) S ...": comm may hold spaces and parentheses
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    running += 1
        except (OSError, IndexError):
            continue
    return running


def busy_elsewhere():
    """Runnable tasks on this machine that are not this process's, or None when the
    platform does not say (no /proc)."""
    try:
        with open("/proc/stat") as f:
            running = next(int(line.split()[1]) for line in f if line.startswith("procs_running"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    own = _own_running()
    return None if own is None else max(0, running - own)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class CoreShare:
    """`with share.frame():` runs the block on the threads other processes leave free."""

    def __init__(self, enabled=True, interval=0.5, probe=busy_elsewhere):
        self.enabled, self.interval, self.probe = enabled, interval, probe
        self._checked, self._free = -float("inf"), None

    def free_cores(self):
        """Cores not taken by other runnable tasks (None: unknown), refreshed each
        `interval` seconds."""
        now = time.monotonic()
        if now - self._checked >= self.interval:
            busy = self.probe()
            self._free = None if busy is None else max(1, _cores() - busy)
            self._checked = now
        return self._free

    @contextmanager
    def frame(self):
        mine = torch.get_num_threads()
        free = self.free_cores() if self.enabled and mine > 1 else None
        if free is None or free >= mine:
            yield mine
            return
        torch.set_num_threads(free)
        try:
            yield free
        finally:
            torch.set_num_threads(mine)
