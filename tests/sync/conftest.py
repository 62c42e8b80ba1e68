"""Fixtures for sync tests: the CRM project and HTTP servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.projects import CrmProject
from sync.servers import ContactsApi


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., CrmProject]:
    """Return a function that writes the CRM project with extra destinations and triggers."""

    def make(
        destinations: str | None = None,
        triggers: str = "",
        billing: list[tuple[str, ...]] | None = None,
    ) -> CrmProject:
        if destinations is None:
            return CrmProject(tmp_path, triggers=triggers, billing=billing)
        return CrmProject(tmp_path, destinations, triggers, billing)

    return make


@pytest.fixture
def contacts_api() -> Iterator[ContactsApi]:
    """A contacts API on a free port of 127.0.0.1."""
    api = ContactsApi()
    try:
        yield api
    finally:
        api.close()
