"""Sync to a REST API on 127.0.0.1: diff, retries, rate limits, dead letters and secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from accord.sync.writers import WriterCache
from sync.projects import BILLING, CrmProject, extra_customers
from sync.servers import BAD_VALUE, ContactsApi

Make = Callable[..., CrmProject]
TOKEN = "tok-3f9a1c77e2"

API = """\
  - name: api
    kind: rest_api
    base_url: URL
    path: contacts/{key}
    insert_path: contacts
    key: {column: contact_id}
    auth: {token_env: ACCORD_TEST_API_TOKEN}
    retry: {max_attempts: 3, backoff_seconds: 0.01, max_backoff_seconds: 0.02}
    fields:
      email: email
      subscription_status: subscription_status
      plan: plan
"""


@pytest.fixture(autouse=True)
def api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_TEST_API_TOKEN", TOKEN)


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Delays the HTTP sender asked for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("accord.sync.http.pause", recorded.append)
    return recorded


def api_project(
    make_project: Make, api: ContactsApi, extra: str = "", **options: object
) -> CrmProject:
    return make_project(API.replace("URL", api.url) + extra, **options)


def test_first_sync_creates_contacts(make_project: Make, contacts_api: ContactsApi) -> None:
    project = api_project(make_project, contacts_api)
    project.run()
    report = project.sync()
    emails = sorted(c["email"] for c in contacts_api.state.contacts.values())
    assert report.destinations[0].inserts == 3
    assert len(contacts_api.state.requests_to("POST")) == 3
    assert emails == ["ada@analytical.org", "alan@bletchley.org", "grace@cobol.org"]


def test_second_sync_sends_no_request(make_project: Make, contacts_api: ContactsApi) -> None:
    project = api_project(make_project, contacts_api)
    project.run()
    project.sync()
    before = len(contacts_api.state.received)
    project.run()
    report = project.sync()
    assert report.sent == 0
    assert len(contacts_api.state.received) == before


def test_update_sends_only_changed_field(make_project: Make, contacts_api: ContactsApi) -> None:
    project = api_project(make_project, contacts_api)
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    project.run()
    project.sync()
    patches = contacts_api.state.requests_to("PATCH")
    assert len(patches) == 1
    assert patches[0].body == {"subscription_status": "canceled"}


def test_every_request_has_idempotency_key(make_project: Make, contacts_api: ContactsApi) -> None:
    project = api_project(make_project, contacts_api)
    project.run()
    project.sync()
    keys = [item.headers.get("idempotency-key") for item in contacts_api.state.received]
    assert all(keys)
    assert len(set(keys)) == 3


def test_429_retried_after_retry_after(
    make_project: Make, contacts_api: ContactsApi, delays: list[float]
) -> None:
    contacts_api.state.script = [(429, {"Retry-After": "2"})]
    project = api_project(make_project, contacts_api)
    project.run()
    report = project.sync()
    assert report.sent == 3
    assert len(contacts_api.state.received) == 4
    assert delays[0] >= 2.0


def test_503_retried_with_backoff(
    make_project: Make, contacts_api: ContactsApi, delays: list[float]
) -> None:
    contacts_api.state.script = [(503, {}), (503, {})]
    project = api_project(make_project, contacts_api)
    project.run()
    report = project.sync()
    assert report.sent == 3
    assert len(delays) == 2
    assert all(delay <= 0.02 for delay in delays)


def test_exhausted_retries_stay_pending(
    make_project: Make, contacts_api: ContactsApi, delays: list[float]
) -> None:
    contacts_api.state.script = [(503, {})] * 3
    project = api_project(make_project, contacts_api)
    project.run()
    first = project.sync()
    second = project.sync()
    assert first.destinations[0].pending == 3
    assert not first.ok
    assert second.destinations[0].resumed == 3
    assert second.sent == 3
    assert len(contacts_api.state.contacts) == 3


def test_bad_record_dead_lettered(make_project: Make, contacts_api: ContactsApi) -> None:
    billing = [(*BILLING[0][:4], BAD_VALUE), *BILLING[1:]]
    project = api_project(make_project, contacts_api, billing=billing)
    project.run()
    report = project.sync()
    dead = project.query("SELECT status_code, response_body, operation FROM sync_dead_letters")
    assert report.destinations[0].rejected == 1
    assert report.sent == 2
    assert dead[0][0] == 400
    assert dead[0][2] == "insert"
    assert len(dead[0][1]) < 2100
    assert "more characters" in dead[0][1]


def test_retry_dead_replays_with_new_key(make_project: Make, contacts_api: ContactsApi) -> None:
    billing = [(*BILLING[0][:4], BAD_VALUE), *BILLING[1:]]
    project = api_project(make_project, contacts_api, billing=billing)
    project.run()
    project.sync()
    contacts_api.state.reject_bad = False
    report = project.sync(retry_dead=True)
    posts = contacts_api.state.requests_to("POST")
    assert report.destinations[0].replayed == 1
    assert report.sent == 1
    assert posts[-1].headers["idempotency-key"] != posts[0].headers["idempotency-key"]
    assert project.query("SELECT count(*) FROM sync_dead_letters WHERE replayed_at IS NULL") == [
        (0,)
    ]


def test_token_sent_but_never_logged_or_stored(
    make_project: Make, contacts_api: ContactsApi, caplog: pytest.LogCaptureFixture
) -> None:
    contacts_api.state.token = TOKEN
    project = api_project(make_project, contacts_api)
    project.run()
    with caplog.at_level(logging.DEBUG):
        report = project.sync()
    store_bytes = (project.folder / "accord.duckdb").read_bytes()
    assert report.sent == 3
    assert TOKEN not in caplog.text
    assert TOKEN.encode() not in store_bytes


def test_missing_token_variable_reported(
    make_project: Make, contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCORD_TEST_API_TOKEN")
    project = api_project(make_project, contacts_api)
    project.run()
    report = project.sync()
    assert "ACCORD_TEST_API_TOKEN is not set" in (report.destinations[0].error or "")
    assert contacts_api.state.received == []


def test_wrong_token_is_permanent(make_project: Make, contacts_api: ContactsApi) -> None:
    contacts_api.state.token = "another-token"
    project = api_project(make_project, contacts_api)
    project.run()
    report = project.sync()
    assert report.destinations[0].rejected == 3
    assert len(contacts_api.state.received) == 3


def test_batch_endpoint_carries_item_keys(make_project: Make, contacts_api: ContactsApi) -> None:
    extra = "    batch_path: contacts/batch\n    batch_size: 2\n"
    project = api_project(make_project, contacts_api, extra)
    project.run()
    report = project.sync()
    batches = contacts_api.state.requests_to("POST")
    items = [item for request in batches for item in request.body["records"]]
    assert report.sent == 3
    assert len(batches) == 2
    assert len({item["idempotency_key"] for item in items}) == 3


def test_rejected_batch_split_to_find_bad_record(
    make_project: Make, contacts_api: ContactsApi
) -> None:
    contacts_api.state.reject_bad = True
    extra = "    batch_path: contacts/batch\n    batch_size: 3\n"
    billing = [(*BILLING[0][:4], BAD_VALUE), *BILLING[1:]]
    project = api_project(make_project, contacts_api, extra, billing=billing)
    project.run()
    report = project.sync()
    assert report.destinations[0].rejected == 1
    assert report.sent == 2
    assert len(contacts_api.state.contacts) == 2


WEBHOOK = """\
  - name: hook
    kind: webhook
    url: URL
    secret_env: ACCORD_TEST_HOOK_SECRET
    fields:
      email: email
      subscription_status: subscription_status
"""


def test_webhook_signed_and_diffed(
    make_project: Make, contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_TEST_HOOK_SECRET", "s3cret")
    contacts_api.state.secret = "s3cret"
    project = make_project(WEBHOOK.replace("URL", contacts_api.url + "hooks"))
    project.run()
    first = project.sync()
    project.run()
    second = project.sync()
    bodies = [item.body for item in contacts_api.state.received]
    assert first.sent == 3
    assert first.destinations[0].rejected == 0
    assert second.sent == 0
    assert len(bodies) == 3
    assert {body["operation"] for body in bodies} == {"insert"}
    assert all(
        item.headers["x-accord-signature"].startswith("sha256=")
        for item in contacts_api.state.received
    )


def test_webhook_bad_signature_rejected(
    make_project: Make, contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_TEST_HOOK_SECRET", "s3cret")
    contacts_api.state.secret = "other"
    project = make_project(WEBHOOK.replace("URL", contacts_api.url + "hooks"))
    project.run()
    report = project.sync()
    assert report.destinations[0].rejected == 3
    assert json.loads(project.query("SELECT response_body FROM sync_dead_letters")[0][0]) == {
        "error": "bad signature"
    }


@pytest.mark.parametrize(("cached", "reused"), [(True, True), (False, False)])
def test_writer_cache_keeps_connections(
    make_project: Make, monkeypatch: pytest.MonkeyPatch, cached: bool, reused: bool
) -> None:
    monkeypatch.setenv("ACCORD_TEST_HOOK_SECRET", "s3cret")
    api = ContactsApi(keep_alive=True)
    api.state.secret = "s3cret"
    writers = WriterCache() if cached else None
    try:
        project = make_project(WEBHOOK.replace("URL", api.url + "hooks"))
        project.run()
        first = project.sync(writers=writers)
        opened = api.state.connections
        project.set_billing_status("b2", "canceled")
        project.run()
        second = project.sync(writers=writers)
    finally:
        if writers is not None:
            writers.close()
        api.close()
    assert first.sent == 3
    assert second.sent == 1
    assert (api.state.connections == opened) is reused


@pytest.mark.parametrize("count", [0, 40, 140])
def test_sync_limited_to_entities(
    make_project: Make, contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setenv("ACCORD_TEST_HOOK_SECRET", "s3cret")
    contacts_api.state.secret = "s3cret"
    project = make_project(
        WEBHOOK.replace("URL", contacts_api.url + "hooks"), billing=extra_customers(150)
    )
    project.run()
    entities = {
        row[0]
        for row in project.query(
            "SELECT entity_id FROM entities WHERE entity_type = 'person' AND status = 'active'"
        )
    }
    chosen = sorted(entities)[:count]
    limited = project.sync(entity_ids=chosen)
    rest = project.sync()
    sent = {body["entity_id"] for body in (item.body for item in contacts_api.state.received)}
    assert limited.sent == count
    assert rest.sent == len(entities) - count
    assert sent == entities
