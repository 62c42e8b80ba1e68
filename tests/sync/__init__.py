"""Sync, conflicts and triggers against real stores, databases and HTTP servers."""
