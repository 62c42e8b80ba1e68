"""Sync golden records back to every tool: plan the changes, queue them, deliver them once."""

from __future__ import annotations

from accord.sync.report import DestinationReport, SyncReport
from accord.sync.runner import run_sync

__all__ = ["DestinationReport", "SyncReport", "run_sync"]
