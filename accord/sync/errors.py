"""Errors of sync: a rejected change is permanent, an unreachable tool is transient."""

from __future__ import annotations

from accord.errors import AccordError, TransientError

MAX_BODY_CHARS = 2000


def truncate(text: str | None, limit: int = MAX_BODY_CHARS) -> str | None:
    """Return ``text`` cut to ``limit`` characters, marking the cut."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


class SyncError(AccordError):
    """A destination cannot be synced at all: a missing secret, table or setting."""

    def __init__(self, destination: str, message: str) -> None:
        self.destination = destination
        super().__init__(f"destination '{destination}': {message}")


class DeliveryError(AccordError):
    """The destination rejected a change; sending the same request again cannot succeed."""

    def __init__(
        self,
        destination: str,
        message: str,
        status_code: int | None = None,
        response_body: str | None = None,
    ) -> None:
        self.destination = destination
        self.status_code = status_code
        self.response_body = truncate(response_body)
        super().__init__(f"destination '{destination}': {message}")


class TransientDeliveryError(TransientError):
    """The destination could not be reached or asked to retry later; the change stays pending."""

    def __init__(self, destination: str, message: str) -> None:
        self.destination = destination
        super().__init__(f"destination '{destination}': {message}")
