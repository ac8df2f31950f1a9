"""Waiting on conditions and looking for processes a cell may have left behind."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from .._wait import wait_until


def is_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is `pgid`."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (OSError, psutil.NoSuchProcess):
            continue
    return members


def runs_in_group(pgid: int, argv: list[str]) -> bool:
    """True when a process of group `pgid` runs `argv` (that is, it has already exec'd)."""
    for pid in group_members(pgid):
        try:
            if psutil.Process(pid).cmdline() == argv:
                return True
        except psutil.NoSuchProcess:
            continue
    return False


def read_pid(path: Path) -> int:
    """The pid a cell wrote to `path` (waiting briefly for the write to land)."""
    assert wait_until(lambda: path.exists() and path.read_text().strip() != ""), path
    return int(path.read_text().strip())
