"""RestReader against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accord.config.models import RestSource
from accord.errors import SourceError, TransientError
from accord.sources import CAPABILITIES, open_reader
from accord.sources.rest import RestReader
from sources.contacts_api import API_TOKEN, ContactsApi

TOKEN_ENV = "ACCORD_TEST_API_TOKEN"


@pytest.fixture(autouse=True)
def api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, API_TOKEN)


def rest_source(api: ContactsApi, path: str = "contacts", **settings: Any) -> RestSource:
    values: dict[str, Any] = {
        "kind": "rest_api",
        "name": "helpdesk",
        "base_url": api.base_url,
        "path": path,
        "primary_key": "id",
        "fields": {"email": "email"},
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "paginator": {"type": "page_number", "total_path": "meta.total_pages"},
        "data_selector": "data",
    }
    values.update(settings)
    return RestSource.model_validate(values)


def fast_reader(source: RestSource, max_attempts: int = 3) -> RestReader:
    return RestReader(source, max_attempts=max_attempts, backoff_seconds=0.01)


PAGINATORS = [
    ("contacts", {"type": "page_number", "total_path": "meta.total_pages"}, "data"),
    ("contacts", {"type": "page_number"}, "data"),
    ("cursor/contacts", {"type": "cursor", "cursor_path": "next_cursor", "limit": 2}, "results"),
    ("offset/contacts", {"type": "offset", "limit": 2, "total_path": "total"}, "items"),
    ("link/contacts", {"type": "json_link", "next_url_path": "links.next"}, "data"),
    ("header/contacts", {"type": "header_link"}, None),
    ("single/contacts", {"type": "single_page"}, "contacts"),
]


@pytest.mark.parametrize(("path", "paginator", "selector"), PAGINATORS)
def test_paginators_return_every_contact(
    contacts_api: ContactsApi, path: str, paginator: dict[str, Any], selector: str | None
) -> None:
    source = rest_source(contacts_api, path, paginator=paginator, data_selector=selector)

    result = fast_reader(source).read(None)

    assert result.rows.column("id").to_pylist() == [1, 2, 3, 4, 5, 6, 7]
    assert result.complete is True
    assert result.present_keys == {str(n) for n in range(1, 8)}
    assert result.issues == []


def test_page_number_sends_page_and_size(contacts_api: ContactsApi) -> None:
    paginator = {
        "type": "page_number",
        "total_path": "meta.total_pages",
        "limit": 3,
        "limit_param": "per_page",
    }
    source = rest_source(contacts_api, paginator=paginator)

    fast_reader(source).read(None)

    pages = [request["query"]["page"] for request in contacts_api.requests]
    sizes = {request["query"]["per_page"] for request in contacts_api.requests}
    assert pages == ["1", "2", "3"]
    assert sizes == {"3"}


def test_nested_objects_become_dotted_columns(contacts_api: ContactsApi) -> None:
    result = fast_reader(rest_source(contacts_api)).read(None)
    first = result.rows.to_pylist()[0]

    assert first["name.first"] == "Ana"
    assert first["name.last"] == "Müller"
    assert first["address.geo.lat"] == 50.9
    assert first["tags"] == '["customer", "tier-1"]'
    assert "name" not in first


def test_incremental_sends_since_and_keeps_newer(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, cursor="updated_at", incremental={"param": "updated_since"})

    result = fast_reader(source).read("2024-03-05T09:00:00Z")

    sent = {request["query"].get("updated_since") for request in contacts_api.requests}
    assert sent == {"2024-03-05T09:00:00Z"}
    assert result.rows.column("id").to_pylist() == [6, 7]
    assert result.cursor == "2024-03-07T09:00:00Z"
    assert result.complete is False
    assert result.present_keys is None


def test_incremental_without_changes_keeps_cursor(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, cursor="updated_at", incremental={"param": "updated_since"})

    result = fast_reader(source).read("2024-03-07T09:00:00Z")

    assert result.rows.num_rows == 0
    assert result.cursor == "2024-03-07T09:00:00Z"
    assert result.complete is False


def test_first_read_sends_initial_value(contacts_api: ContactsApi) -> None:
    incremental = {"param": "updated_since", "initial_value": "2024-03-06T00:00:00Z"}
    source = rest_source(contacts_api, cursor="updated_at", incremental=incremental)

    result = fast_reader(source).read(None)

    assert result.rows.column("id").to_pylist() == [6, 7]
    assert result.complete is False
    assert result.cursor == "2024-03-07T09:00:00Z"


def test_initial_value_kept_without_rows(contacts_api: ContactsApi) -> None:
    incremental = {"param": "updated_since", "initial_value": "2024-04-01T00:00:00Z"}
    source = rest_source(contacts_api, cursor="updated_at", incremental=incremental)

    result = fast_reader(source).read(None)

    assert result.rows.num_rows == 0
    assert result.cursor == "2024-04-01T00:00:00Z"


def test_full_read_with_cursor_filters_locally(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, cursor="updated_at")

    result = fast_reader(source).read("2024-03-06T09:00:00Z")

    assert result.rows.column("id").to_pylist() == [7]
    assert result.complete is False
    assert result.present_keys == {str(n) for n in range(1, 8)}


def test_incremental_needs_cursor(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, incremental={"param": "updated_since"})

    with pytest.raises(SourceError, match="'cursor'"):
        fast_reader(source).read("2024-03-01")


@pytest.mark.parametrize(
    "auth",
    [
        {"type": "bearer", "token_env": TOKEN_ENV},
        {"type": "header", "token_env": TOKEN_ENV, "name": "X-Api-Key"},
        {"type": "api_key_query", "token_env": TOKEN_ENV, "name": "api_key"},
    ],
)
def test_auth_types_are_accepted(contacts_api: ContactsApi, auth: dict[str, str]) -> None:
    result = fast_reader(rest_source(contacts_api, auth=auth)).read(None)

    assert result.rows.num_rows == 7


def test_header_auth_needs_name(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, auth={"type": "header", "token_env": TOKEN_ENV})

    with pytest.raises(SourceError, match="needs 'name'"):
        fast_reader(source).read(None)


def test_missing_token_variable_is_named(
    contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(SourceError) as caught:
        fast_reader(rest_source(contacts_api)).read(None)

    assert TOKEN_ENV in str(caught.value)
    assert "is not set" in str(caught.value)
    assert contacts_api.requests == []


def test_rejected_token_names_variable_only(
    contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-token-5KdP0s"
    monkeypatch.setenv(TOKEN_ENV, wrong)

    with pytest.raises(SourceError) as caught:
        fast_reader(rest_source(contacts_api)).read(None)

    message = str(caught.value)
    assert "HTTP 401" in message
    assert TOKEN_ENV in message
    assert wrong not in message
    assert caught.value.__cause__ is None
    assert len(contacts_api.requests) == 1


def test_missing_auth_reports_401(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, auth=None)

    with pytest.raises(SourceError, match="requires authentication"):
        fast_reader(source).read(None)


@pytest.fixture
def http_log() -> Iterator[list[str]]:
    """Collect DEBUG records of the HTTP and dlt loggers as formatted text."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    names = ["urllib3.connectionpool", "dlt", "accord.sources"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield messages
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(saved[name])


def test_query_token_is_redacted_in_logs(contacts_api: ContactsApi, http_log: list[str]) -> None:
    auth = {"type": "api_key_query", "token_env": TOKEN_ENV, "name": "api_key"}

    fast_reader(rest_source(contacts_api, auth=auth)).read(None)

    request_lines = [line for line in http_log if "GET /v1/contacts" in line]
    assert request_lines, "urllib3 logged no request line"
    assert all("api_key=***" in line for line in request_lines)
    assert not any(API_TOKEN in line for line in http_log)


def test_retries_a_500_then_succeeds(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, "flaky/contacts", paginator={"type": "single_page"})
    source.data_selector = "contacts"

    result = fast_reader(source).read(None)

    assert result.rows.num_rows == 7
    assert contacts_api.flaky_calls == 2


@pytest.mark.parametrize(("path", "status"), [("broken/contacts", 500), ("limited/contacts", 429)])
def test_persistent_failure_is_transient(contacts_api: ContactsApi, path: str, status: int) -> None:
    source = rest_source(contacts_api, path, paginator={"type": "single_page"})

    with pytest.raises(TransientError, match=f"HTTP {status} after 2 attempts"):
        fast_reader(source, max_attempts=2).read(None)

    assert len(contacts_api.requests) == 2


def test_unknown_path_is_source_error(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, "nowhere", paginator={"type": "single_page"})

    with pytest.raises(SourceError, match="HTTP 404"):
        fast_reader(source).read(None)


def test_html_response_is_source_error(contacts_api: ContactsApi) -> None:
    source = rest_source(contacts_api, "html/contacts", paginator={"type": "single_page"})

    with pytest.raises(SourceError, match="did not return JSON"):
        fast_reader(source).read(None)


def test_unreachable_host_is_transient() -> None:
    source = RestSource.model_validate(
        {
            "kind": "rest_api",
            "name": "helpdesk",
            "base_url": f"http://127.0.0.1:{_closed_port()}/v1/",
            "path": "contacts",
            "primary_key": "id",
            "fields": {"email": "email"},
            "paginator": {"type": "single_page"},
        }
    )

    with pytest.raises(TransientError, match=r"cannot reach 127\.0\.0\.1"):
        RestReader(source, max_attempts=1).read(None)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_missing_key_becomes_issue(contacts_api: ContactsApi) -> None:
    contacts_api.contacts[1]["id"] = None

    result = fast_reader(rest_source(contacts_api)).read(None)

    assert result.rows.num_rows == 6
    assert [issue.location for issue in result.issues] == ["item 2"]
    assert "'id' is missing or empty" in result.issues[0].message


def test_read_writes_no_files(
    contacts_api: ContactsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))

    reader = open_reader(rest_source(contacts_api), project)
    reader.read(None)
    reader.read(None)

    assert list(project.iterdir()) == []
    assert list(home.iterdir()) == []


def test_telemetry_is_disabled(contacts_api: ContactsApi) -> None:
    fast_reader(rest_source(contacts_api)).read(None)

    assert os.environ["RUNTIME__DLTHUB_TELEMETRY"] == "false"


def test_capabilities_declare_no_delete_detection() -> None:
    assert CAPABILITIES["rest_api"].incremental is True
    assert CAPABILITIES["rest_api"].detects_deletes is False
