"""Changes and outcomes: the input and output of every destination writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Operation = Literal["insert", "update", "delete"]


@dataclass(frozen=True)
class Change:
    """One planned write of one tool record, as kept in the outbox.

    ``record`` is every mapped tool field with its golden value; ``fields``
    names the ones that changed and are sent. An insert sends all of them.
    ``fixes`` names the golden fields whose conflict with the tool the
    change resolves.
    """

    change_id: int
    record_key: str
    entity_id: str
    operation: Operation
    record: dict[str, Any]
    fields: list[str]
    idempotency_key: str
    fixes: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """Return the fields to send with their values."""
        return {name: self.record.get(name) for name in self.fields}


OutcomeStatus = Literal["sent", "rejected", "pending"]


@dataclass(frozen=True)
class Outcome:
    """Result of one change.

    ``sent``: the destination accepted it. ``rejected``: the destination
    refused it for good, with the status and response body. ``pending``: a
    transient failure, so the change stays in the outbox for the next sync.
    """

    change_id: int
    status: OutcomeStatus
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None


def sent(change: Change) -> Outcome:
    """Return the outcome of a change the destination accepted."""
    return Outcome(change.change_id, "sent")


def rejected(
    change: Change, error: str, status_code: int | None = None, body: str | None = None
) -> Outcome:
    """Return the outcome of a change the destination rejected for good."""
    return Outcome(change.change_id, "rejected", status_code, body, error)


def pending(changes: list[Change], error: str) -> list[Outcome]:
    """Return outcomes that keep ``changes`` in the outbox after a transient failure."""
    return [Outcome(change.change_id, "pending", error=error) for change in changes]


class Writer(Protocol):
    """Writes changes to one destination.

    :meth:`write` returns one outcome per change, in order. After a
    transient failure the failed change, every later change of the same
    record or entity and every change not yet tried are ``pending``.
    """

    batch_size: int

    def write(self, changes: list[Change]) -> list[Outcome]:
        """Write ``changes`` and return their outcomes in the same order."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
