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

__all__ = ["Change", "Outcome", "Writer", "WriterCache", "open_writer"]


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


class WriterCache:
    """Writers of HTTP destinations kept open from one sync to the next.

    A long-running worker syncs every few hundred milliseconds. Reusing the
    webhook and REST writers keeps their HTTP connections alive and their
    sending threads running. File and SQL writers are opened for each sync,
    because a file writer starts from the records synced so far.
    """

    def __init__(self) -> None:
        self._writers: dict[str, Writer] = {}

    def open(self, destination: DestinationBase, root: Path, current: CurrentRecords) -> Writer:
        """Return the open writer of ``destination``, opening it when there is none."""
        writer = self._writers.get(destination.name)
        if writer is not None:
            return writer
        writer = open_writer(destination, root, current)
        if isinstance(writer, RestWriter | WebhookWriter):
            self._writers[destination.name] = writer
        return writer

    def release(self, writer: Writer) -> None:
        """Close ``writer`` unless this cache keeps it open."""
        if writer not in self._writers.values():
            writer.close()

    def close(self) -> None:
        """Close every writer kept open."""
        writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.close()
