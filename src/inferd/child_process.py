"""What every child process of the server does first: die with the server, so a killed server leaves no orphan."""

from __future__ import annotations

import ctypes
import os
import signal
import sys


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies; exit now if the parent is already gone."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the line above took effect
        sys.exit(1)
