"""Sync into the CRM's SQLite table: diff, echo suppression, drift, conflicts and modes."""

from __future__ import annotations

from collections.abc import Callable

from sync.projects import BILLING, CrmProject, audience_rows, create_audience

Make = Callable[..., CrmProject]


def test_first_sync_sends_changed_fields(make_project: Make) -> None:
    project = make_project()
    project.run()
    report = project.sync()
    crm = report.destinations[0]
    assert crm.updates == 3
    assert crm.sent == 3
    assert project.crm_row(1)["subscription_status"] == "active"
    assert project.crm_row(3)["subscription_status"] == "past_due"
    assert project.crm_row(2)["plan"] == "starter"


def test_field_tool_already_holds_not_sent(make_project: Make) -> None:
    project = make_project()
    project.run()
    report = project.sync()
    counts = {change.field: change.count for change in report.destinations[0].field_changes}
    assert counts == {"plan": 3, "subscription_status": 2}


def test_lead_status_keeps_tool_wording(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    assert project.crm_row(2)["lead_status"] == "Contacted"


def test_second_sync_without_run_sends_nothing(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    report = project.sync()
    assert report.destinations[0].planned == 0
    assert report.sent == 0


def test_echo_of_own_write_sends_nothing(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    summary = project.run()
    report = project.sync()
    crm = next(item for item in summary.sources if item.source == "crm")
    assert crm.changed == 3
    assert report.destinations[0].planned == 0
    assert report.sent == 0


def test_echo_changes_no_golden_value(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    summary = project.run()
    changes = project.query(
        "SELECT count(*) FROM golden_changes WHERE run_id = ?", [summary.run_id]
    )
    assert changes == [(0,)]


def test_value_changed_back_is_sent_again(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    project.run()
    project.set_crm(1, "subscription_status", "trialing")
    project.run()
    report = project.sync()
    assert report.destinations[0].updates == 1
    assert project.crm_row(1)["subscription_status"] == "active"


def test_sync_reports_fixed_conflict(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    project.set_crm(1, "subscription_status", "trialing")
    project.run()
    report = project.sync()
    crm = report.destinations[0]
    assert crm.fixed == {"subscription_status": 1}
    assert crm.fixed_examples == [{"record_key": "1", "field": "subscription_status"}]


def test_golden_change_reaches_tool(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    project.run()
    report = project.sync()
    assert report.destinations[0].updates == 1
    assert project.crm_row(2)["subscription_status"] == "canceled"


def test_dry_run_sends_nothing(make_project: Make) -> None:
    project = make_project()
    project.run()
    report = project.sync(dry_run=True)
    crm = report.destinations[0]
    assert report.sync_id is None
    assert crm.updates == 3
    assert crm.examples[0]["changes"] == {"subscription_status": "active", "plan": "pro"}
    assert project.crm_row(1)["subscription_status"] is None
    assert project.query("SELECT count(*) FROM sync_outbox") == [(0,)]
    assert project.query("SELECT count(*) FROM sync_state") == [(0,)]


FILTERED = """\
  - name: crm
    kind: sql
    url: sqlite:///crm.sqlite
    table: contacts
    key: {source: crm, column: contact_id}
    mode: update
    filter: subscription_status = 'active'
    fields:
      plan: plan
"""

AUDIENCE = """\
  - name: audience
    kind: sql
    url: URL
    table: audience
    mode: MODE
    filter: subscription_status = 'active'
    fields:
      email: email
      plan: plan
"""
EDSGER = ("b9", "Edsger Dijkstra", "edsger@shortest.net", "active", "growth")


def audience_project(make_project: Make, mode: str, url: str = "") -> CrmProject:
    project = make_project(
        AUDIENCE.replace("MODE", mode).replace("URL", url or "sqlite:///audience.sqlite")
    )
    create_audience(url or f"sqlite:///{project.folder / 'audience.sqlite'}")
    return project


def test_update_mode_skips_customers_missing_from_tool(make_project: Make) -> None:
    project = make_project(FILTERED, billing=[*BILLING, EDSGER])
    project.run()
    report = project.sync()
    assert report.destinations[0].inserts == 0
    assert project.query("SELECT record_key FROM sync_state ORDER BY 1") == [("1",), ("2",)]


def test_mirror_inserts_qualifying_records(make_project: Make) -> None:
    project = audience_project(make_project, "mirror")
    project.run()
    report = project.sync()
    rows = audience_rows(f"sqlite:///{project.folder / 'audience.sqlite'}")
    assert report.destinations[0].inserts == 2
    assert sorted(row["email"] for row in rows) == ["ada@analytical.org", "alan@bletchley.org"]


def test_mirror_deletes_record_that_stops_qualifying(make_project: Make) -> None:
    project = audience_project(make_project, "mirror")
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    project.run()
    report = project.sync()
    rows = audience_rows(f"sqlite:///{project.folder / 'audience.sqlite'}")
    assert report.destinations[0].deletes == 1
    assert [row["email"] for row in rows] == ["ada@analytical.org"]


def test_upsert_forgets_record_that_stops_qualifying(make_project: Make) -> None:
    project = audience_project(make_project, "upsert")
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    project.run()
    report = project.sync()
    rows = audience_rows(f"sqlite:///{project.folder / 'audience.sqlite'}")
    assert report.destinations[0].forgotten == 1
    assert len(rows) == 2
    again = project.sync()
    assert again.destinations[0].forgotten == 0


def test_insert_mode_never_updates(make_project: Make) -> None:
    project = audience_project(make_project, "insert")
    project.run()
    project.sync()
    project.write_billing([(*BILLING[0][:4], "growth"), *BILLING[1:]])
    project.run()
    report = project.sync()
    rows = audience_rows(f"sqlite:///{project.folder / 'audience.sqlite'}")
    assert report.destinations[0].planned == 0
    assert sorted(row["plan"] for row in rows) == ["pro", "starter"]


def test_rejected_row_goes_to_dead_letters(make_project: Make) -> None:
    project = audience_project(make_project, "upsert")
    project.write_billing([(*BILLING[0][:4], "reject-me"), *BILLING[1:]])
    project.run()
    report = project.sync()
    audience = report.destinations[0]
    dead = project.query("SELECT operation, error FROM sync_dead_letters")
    assert audience.sent == 1
    assert audience.rejected == 1
    assert dead[0][0] == "insert"
    assert "CHECK constraint failed" in dead[0][1]
