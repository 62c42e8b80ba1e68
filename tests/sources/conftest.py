"""Fixtures for the source reader tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sources.contacts_api import ContactsApi, start_contacts_api


@pytest.fixture
def contacts_api() -> Iterator[ContactsApi]:
    """Run the contacts API on a free port of 127.0.0.1 for one test."""
    api, server, thread = start_contacts_api()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
