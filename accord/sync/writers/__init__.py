"""Destination writers: SQL tables, REST APIs, webhooks and files."""

from __future__ import annotations

from pathlib import Path

from accord.config.models import (
    DestinationBase,
    FileDestination,
    RestDestination,
    SqlDestination,
    WebhookDestination,
)
from accord.sync.errors import SyncError
from accord.sync.writers.base import Change, Outcome, Writer
from accord.sync.writers.files import CurrentRecords, FileWriter
from accord.sync.writers.rest import RestWriter
from accord.sync.writers.sql import SqlWriter
from accord.sync.writers.webhook import WebhookWriter

__all__ = ["Change", "Outcome", "Writer", "open_writer"]


def open_writer(destination: DestinationBase, root: Path, current: CurrentRecords) -> Writer:
    """Return the writer for ``destination``.

    Args:
        destination: The destination settings.
        root: The project folder; relative paths start here.
        current: Returns the records the destination has after the last
            sync, for writers that rewrite everything (files).

    Raises:
        SyncError: When the destination cannot be opened: a missing secret,
            table or column.
    """
    if isinstance(destination, SqlDestination):
        return SqlWriter(destination, root)
    if isinstance(destination, RestDestination):
        return RestWriter(destination)
    if isinstance(destination, WebhookDestination):
        return WebhookWriter(destination)
    if isinstance(destination, FileDestination):
        return FileWriter(destination, root, current)
    raise SyncError(destination.name, f"no writer for destinations of type {type(destination)}")
