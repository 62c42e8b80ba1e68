"""Triggers on golden-record changes: suppression, sync, webhook, NATS and Redis."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from accord.governance.decisions import decide
from accord.pipeline import now_utc
from accord.triggers import TriggerReport, fire_triggers
from sync.projects import BILLING, CRM_DESTINATION, CrmProject
from sync.servers import ContactsApi
from tests.conftest import port_open, unavailable

Make = Callable[..., CrmProject]

SUPPRESSION_FILE = """\
  - name: onboarding_mail
    kind: csv
    path: out/onboarding_suppression.csv
    suppression_list: onboarding
    fields:
      email: email
      reason: reason
"""

CHURN = """\
- name: churned
  when: {field: subscription_status, to: canceled}
  actions:
    - {type: suppress, list: onboarding, reason: subscription canceled}
    - {type: sync, destinations: [crm, onboarding_mail]}
"""


def fire(project: CrmProject, run_id: int | None = None) -> TriggerReport:
    with project.open_store() as store:
        return fire_triggers(project.loaded, store, run_id)


def churn_project(make_project: Make) -> CrmProject:
    project = make_project(CRM_DESTINATION + SUPPRESSION_FILE, CHURN)
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    return project


def test_cancel_updates_crm_in_same_run(make_project: Make) -> None:
    project = churn_project(make_project)
    summary = project.run()
    report = fire(project, summary.run_id)
    assert len(report.firings) == 1
    assert report.failed == []
    assert project.crm_row(2)["subscription_status"] == "canceled"


def test_cancel_adds_customer_to_suppression_list(make_project: Make) -> None:
    project = churn_project(make_project)
    summary = project.run()
    fire(project, summary.run_id)
    entries = project.query("SELECT entity_id, email, reason FROM suppression_list")
    assert entries == [
        (project.entity_of("billing", "b2"), "alan@bletchley.org", "subscription canceled")
    ]


def test_suppression_file_exported_in_same_run(make_project: Make) -> None:
    project = churn_project(make_project)
    summary = project.run()
    fire(project, summary.run_id)
    path = project.folder / "out" / "onboarding_suppression.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["email"] for row in rows] == ["alan@bletchley.org"]
    assert rows[0]["entity_id"] == project.entity_of("billing", "b2")


def test_firing_logged_with_change_and_result(make_project: Make) -> None:
    project = churn_project(make_project)
    summary = project.run()
    fire(project, summary.run_id)
    rows = project.query(
        "SELECT trigger_name, field, CAST(old_value AS VARCHAR), CAST(new_value AS VARCHAR), "
        "action, result FROM trigger_log ORDER BY action"
    )
    assert rows == [
        ("churned", "subscription_status", '"active"', '"canceled"', "suppress:onboarding", "ok"),
        ("churned", "subscription_status", '"active"', '"canceled"', "sync:crm", "ok"),
        ("churned", "subscription_status", '"active"', '"canceled"', "sync:onboarding_mail", "ok"),
    ]


def test_firing_again_repeats_nothing(make_project: Make) -> None:
    project = churn_project(make_project)
    summary = project.run()
    fire(project, summary.run_id)
    again = fire(project, summary.run_id)
    assert len(again.firings) == 1
    assert again.results == []
    assert project.query("SELECT count(*) FROM suppression_list") == [(1,)]


def test_latest_run_used_by_default(make_project: Make) -> None:
    project = churn_project(make_project)
    project.run()
    report = fire(project)
    assert len(report.firings) == 1


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("{field: subscription_status}", 1),
        ("{field: subscription_status, from: active}", 1),
        ("{field: subscription_status, from: active, to: canceled}", 1),
        ("{field: subscription_status, from: past_due}", 0),
        ("{field: subscription_status, to: active}", 0),
        ("{field: plan}", 0),
    ],
)
def test_condition_matching(make_project: Make, when: str, expected: int) -> None:
    trigger = f"- name: t\n  when: {when}\n  actions:\n    - {{type: suppress, list: l}}\n"
    project = make_project(CRM_DESTINATION, trigger)
    project.run()
    project.set_billing_status("b2", "canceled")
    summary = project.run()
    report = fire(project, summary.run_id)
    assert len(report.firings) == expected


def test_created_event_fires_per_new_entity(make_project: Make) -> None:
    trigger = (
        "- name: welcome\n  when: {event: created}\n  actions:\n    - {type: suppress, list: new}\n"
    )
    project = make_project(CRM_DESTINATION, trigger)
    summary = project.run()
    report = fire(project, summary.run_id)
    people = [f for f in report.firings if f.entity_id.startswith("per_")]
    assert len(people) == 3


def merged_project(make_project: Make, trigger: str) -> tuple[CrmProject, int]:
    """Run twice; between the runs a must-link decision merges two billing customers."""
    billing = [
        *BILLING,
        ("b9", "Edsger Dijkstra", "edsger@shortest.net", "active", "growth"),
        ("b10", "Wim Feijen", "wim@feijen.nl", "active", "starter"),
    ]
    project = make_project(CRM_DESTINATION, trigger, billing=billing)
    project.run()
    with project.open_store() as store, store.transaction() as connection:
        decide(connection, "billing:b9", "billing:b10", "must_link", now_utc())
    summary = project.run()
    return project, summary.run_id


def test_merged_event_publishes_to_redis(make_project: Make) -> None:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not running on 127.0.0.1:6379")
    import redis

    stream = f"accord:test:{uuid.uuid4().hex}"
    trigger = (
        f"- name: merged\n  when: {{event: merged}}\n  actions:\n"
        f"    - {{type: redis, stream: '{stream}'}}\n"
    )
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        project, run_id = merged_project(make_project, trigger)
        report = fire(project, run_id)
        entries = client.xrange(stream)
    finally:
        client.delete(stream)
        client.close()
    message = json.loads(entries[0][1][b"payload"])
    assert report.failed == []
    assert len(entries) == 1
    assert message["event"] == "merged"
    assert message["other_id"] is not None


def _jetstream_messages(subject: str, fire_and_read: Callable[[], Any]) -> list[dict[str, Any]]:
    import nats

    async def create() -> None:
        client = await nats.connect("nats://127.0.0.1:4222")
        await client.jetstream().add_stream(name=subject.replace(".", "_"), subjects=[subject])
        await client.close()

    async def read_and_delete() -> list[dict[str, Any]]:
        client = await nats.connect("nats://127.0.0.1:4222")
        stream = client.jetstream()
        info = await stream.stream_info(subject.replace(".", "_"))
        found = []
        for sequence in range(1, info.state.messages + 1):
            message = await stream.get_msg(subject.replace(".", "_"), sequence)
            found.append(json.loads(message.data or b"{}"))
        await stream.delete_stream(subject.replace(".", "_"))
        await client.close()
        return found

    asyncio.run(create())
    try:
        fire_and_read()
    finally:
        messages = asyncio.run(read_and_delete())
    return messages


def test_change_published_to_nats_once(make_project: Make) -> None:
    if not port_open("127.0.0.1", 4222):
        unavailable("NATS is not running on 127.0.0.1:4222")
    subject = f"accord.test.{uuid.uuid4().hex}"
    trigger = (
        "- name: churned\n  when: {field: subscription_status, to: canceled}\n  actions:\n"
        f"    - {{type: nats, subject: {subject}, jetstream: true}}\n"
    )
    project = make_project(CRM_DESTINATION, trigger)
    project.run()
    project.set_billing_status("b2", "canceled")
    summary = project.run()
    reports: list[TriggerReport] = []

    def fire_twice() -> None:
        reports.append(fire(project, summary.run_id))
        with project.open_store() as store, store.transaction() as connection:
            connection.execute("DELETE FROM trigger_log")
        reports.append(fire(project, summary.run_id))

    messages = _jetstream_messages(subject, fire_twice)
    assert reports[0].failed == []
    assert "duplicate" in reports[1].results[0].detail
    assert len(messages) == 1
    assert messages[0]["new_value"] == "canceled"


def test_webhook_action_signed(
    make_project: Make, contacts_api: ContactsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_TEST_TRIGGER_SECRET", "trigger-secret")
    contacts_api.state.secret = "trigger-secret"
    trigger = (
        "- name: churned\n  when: {field: subscription_status, to: canceled}\n  actions:\n"
        f"    - {{type: webhook, url: '{contacts_api.url}events', "
        "secret_env: ACCORD_TEST_TRIGGER_SECRET}\n"
    )
    project = make_project(CRM_DESTINATION, trigger)
    project.run()
    project.set_billing_status("b2", "canceled")
    summary = project.run()
    report = fire(project, summary.run_id)
    received = contacts_api.state.received
    assert report.failed == []
    assert len(received) == 1
    assert received[0].body["entity_id"] == project.entity_of("billing", "b2")
    assert received[0].headers["idempotency-key"] == report.firings[0].message_id


def test_failed_action_logged_and_retried(make_project: Make) -> None:
    trigger = (
        "- name: churned\n  when: {field: subscription_status, to: canceled}\n  actions:\n"
        "    - {type: webhook, url: 'http://127.0.0.1:9/events', secret_env: ACCORD_NO_SECRET}\n"
    )
    project = make_project(CRM_DESTINATION, trigger)
    project.run()
    project.set_billing_status("b2", "canceled")
    summary = project.run()
    first = fire(project, summary.run_id)
    second = fire(project, summary.run_id)
    assert [result.result for result in first.results] == ["failed"]
    assert "ACCORD_NO_SECRET is not set" in first.results[0].detail
    assert len(second.results) == 1
    assert project.query("SELECT count(*) FROM trigger_log WHERE result = 'failed'") == [(2,)]
