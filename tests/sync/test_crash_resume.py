"""A sync killed in the middle resumes without duplicates or lost changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from sync.projects import CrmProject, extra_customers
from sync.servers import ContactsApi

Make = Callable[..., CrmProject]

API = """\
  - name: api
    kind: rest_api
    base_url: URL
    path: contacts/{key}
    insert_path: contacts
    key: {column: contact_id}
    batch_size: 5
    retry: {max_attempts: 3, backoff_seconds: 0.01, max_backoff_seconds: 0.02}
    fields:
      email: email
      subscription_status: subscription_status
      plan: plan
"""

SYNC_SCRIPT = """
import sys
from accord.config.loader import load_project
from accord.store.duckdb_store import Store
from accord.sync import run_sync

loaded = load_project(sys.argv[1])
with Store.open(loaded.resolve(loaded.project.store.path)) as store:
    run_sync(loaded, store)
"""


def kill_sync_at_request(project: CrmProject, api: ContactsApi, number: int) -> None:
    """Start a sync in a subprocess and SIGKILL it while request ``number`` is in flight."""
    api.state.hold_at = number
    process = subprocess.Popen(
        [sys.executable, "-c", SYNC_SCRIPT, str(project.loaded.path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        held = api.state.holding.wait(120)
        os.kill(process.pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
    finally:
        api.state.release.set()
        if process.poll() is None:
            process.kill()
    if not held:
        pytest.fail(f"the sync never reached request {number}: {stderr.decode()[-2000:]}")
    api.state.hold_at = None


@pytest.mark.slow
@pytest.mark.parametrize("per_commit", [1, 5])
def test_killed_sync_delivers_each_change_once(
    make_project: Make, contacts_api: ContactsApi, per_commit: int
) -> None:
    api = API.replace("URL", contacts_api.url)
    if per_commit > 1:
        api += f"    requests_per_commit: {per_commit}\n"
    project = make_project(api, billing=extra_customers(27))
    project.run()
    kill_sync_at_request(project, contacts_api, 12)
    pending = project.query("SELECT count(*) FROM sync_outbox WHERE status = 'pending'")
    report = project.sync()
    changes = project.query("SELECT count(*) FROM sync_outbox")[0][0]
    state = contacts_api.state
    assert pending[0][0] > 0
    assert report.destinations[0].resumed == pending[0][0]
    assert changes == 30
    assert len(state.keys_seen) == changes
    assert set(state.applied.values()) == {1}
    assert max(state.keys_seen.values()) == 2
    assert sum(state.keys_seen.values()) <= changes + per_commit
    assert len(state.contacts) == 30
    assert project.query("SELECT count(*) FROM sync_state") == [(30,)]


@pytest.mark.slow
def test_killed_sync_marks_run_interrupted(make_project: Make, contacts_api: ContactsApi) -> None:
    project = make_project(API.replace("URL", contacts_api.url), billing=extra_customers(7))
    project.run()
    kill_sync_at_request(project, contacts_api, 3)
    project.sync()
    statuses = project.query("SELECT status FROM sync_runs ORDER BY sync_id")
    assert statuses == [("interrupted",), ("succeeded",)]
