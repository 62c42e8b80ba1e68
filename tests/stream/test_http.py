"""HTTP intake on 127.0.0.1: ingest, rejections, signatures, health and metrics."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from accord.store.duckdb_store import Store
from accord.stream.http_intake import IntakeHandler, drain, signature
from accord.stream.worker import Worker
from stream.helpers import get, live_records, load, person, post, write_project

SIGNED = """\
stream:
  port: 0
  sources:
    crm:
      webhook: {secret_env: ACCORD_TEST_CRM_SECRET}
"""
SECRET = "s3cret-for-tests"
# The processor's fallback check of the change log comes minutes apart.
IDLE = """\
stream:
  port: 0
  idle_seconds: 300
"""


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    monkeypatch.setenv("ACCORD_TEST_CRM_SECRET", SECRET)
    loaded = load(write_project(tmp_path, SIGNED).parent)
    store = Store.open(loaded.resolve(loaded.project.store.path))
    running = Worker(loaded, store, port=0)
    running.start()
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        yield running
    finally:
        running.request_stop()
        thread.join(timeout=60)
        store.close()


def url(worker: Worker, path: str) -> str:
    host, port = worker.address
    return f"http://{host}:{port}{path}"


def signed_post(worker: Worker, body: bytes, secret: str = SECRET) -> tuple[int, object]:
    headers = {"X-Accord-Signature": signature(secret, body)}
    return post(url(worker, "/ingest/crm"), body, headers)


def wait_processed(worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, text = get(url(worker, "/health"))
        if status == 200 and not json.loads(text)["pending"]:
            return
        time.sleep(0.1)
    raise AssertionError("changes still pending")


def stored(worker: Worker) -> dict[str, dict[str, object]]:
    wait_processed(worker)
    cursor = worker.store.connection.cursor()
    try:
        return live_records(Store(cursor, worker.store.path))
    finally:
        cursor.close()


def test_post_object_is_stored(worker: Worker) -> None:
    status, answer = signed_post(worker, json.dumps(person(1)).encode())
    assert status == 202
    assert answer == {"accepted": 1}
    assert stored(worker)["1"]["plan"] == "plan-1"


def test_post_list_is_stored(worker: Worker) -> None:
    status, _ = signed_post(worker, json.dumps([person(1), person(2)]).encode())
    assert status == 202
    assert sorted(stored(worker)) == ["1", "2"]


def test_post_delete_envelope(worker: Worker) -> None:
    signed_post(worker, json.dumps([person(1), person(2)]).encode())
    wait_processed(worker)
    body = json.dumps({"op": "delete", "record": {"id": 2}}).encode()
    status, _ = signed_post(worker, body)
    assert status == 202
    assert sorted(stored(worker)) == ["1"]


def test_invalid_json_rejected(worker: Worker) -> None:
    status, answer = signed_post(worker, b"{not json")
    assert status == 400
    assert "invalid JSON" in str(answer)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"id": 1, "first_name": "\\udc00x"}', "surrogate"),
        (b'{"\\udc00": 1, "id": 1}', "surrogate"),
        (b'{"id": true}', "string or a number"),
        (b'{"id": [1, 2]}', "string or a number"),
        (b'{"id": {"a": 1}}', "missing"),
        (b'{"id": Infinity, "first_name": "X"}', "not a finite number"),
        (b'{"id": 1e400, "first_name": "X"}', "not a finite number"),
        (b'{"id": NaN, "first_name": "X"}', "not a finite number"),
        (b'{"op": "delete", "id": 1}', "needs the envelope"),
        (b'{"op": "delete", "record": {"id": 1}, "sent_at": "2024-01-01"}', "needs the envelope"),
    ],
)
def test_hostile_body_rejected(worker: Worker, body: bytes, phrase: str) -> None:
    status, answer = signed_post(worker, body)
    assert status == 400
    assert phrase in str(answer)
    assert stored(worker) == {}


def test_short_body_rejected(worker: Worker) -> None:
    host, port = worker.server.server_address[:2]
    body = b'{"id": 1}'
    request = (
        b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    ) + body
    with socket.create_connection((str(host), int(port)), timeout=60) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert stored(worker) == {}


def smuggled_request(body: bytes, secret: str | None = SECRET) -> bytes:
    """Return a complete ``POST /ingest/crm`` request for ``body``."""
    head = (
        b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
    )
    if secret is not None:
        head += f"X-Accord-Signature: {signature(secret, body)}\r\n".encode()
    return head + b"\r\n" + body


def exchange(worker: Worker, request: bytes) -> bytes:
    """Send ``request`` on one connection and return all bytes received until it closes.

    Stops reading after 5 s of silence, so a connection left open returns too.
    """
    host, port = worker.server.server_address[:2]
    received = b""
    with socket.create_connection((str(host), int(port)), timeout=5) as connection:
        connection.sendall(request)
        while True:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    return received


def status_lines(received: bytes) -> list[bytes]:
    """Split ``received`` into responses by their Content-Length and return their status lines."""
    lines: list[bytes] = []
    rest = received
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        status_line, *headers = head.split(b"\r\n")
        lines.append(status_line[: len(b"HTTP/1.1 200")])
        length = re.search(rb"(?im)^Content-Length: *(\d+)$", b"\n".join(headers))
        rest = rest[int(length.group(1)) if length else 0 :]
    return lines


def logged_changes(worker: Worker) -> int:
    cursor = worker.store.connection.cursor()
    try:
        row = cursor.execute("SELECT count(*) FROM change_log").fetchone()
    finally:
        cursor.close()
    return int(row[0]) if row else 0


SMUGGLED = smuggled_request(json.dumps(person(1)).encode())


@pytest.mark.parametrize(
    ("head", "status"),
    [
        pytest.param(
            b"POST /nothing HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {len(SMUGGLED)}\r\n\r\n".encode(),
            b"404",
            id="unknown-path",
        ),
        pytest.param(
            b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"411",
            id="chunked",
        ),
        pytest.param(
            b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            + f"Content-Length: {len(SMUGGLED)}\r\n\r\n".encode(),
            b"400",
            id="two-content-lengths",
        ),
        pytest.param(
            b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n",
            b"400",
            id="invalid-content-length",
        ),
        pytest.param(
            b"GET /health HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {len(SMUGGLED)}\r\n\r\n".encode(),
            b"200",
            id="get-with-body",
        ),
    ],
)
def test_unread_body_closes_connection(worker: Worker, head: bytes, status: bytes) -> None:
    received = exchange(worker, head + SMUGGLED)
    assert status_lines(received) == [b"HTTP/1.1 " + status]
    assert b"\r\nConnection: close\r\n" in received
    assert logged_changes(worker) == 0
    assert stored(worker) == {}


def test_oversized_body_closes_connection(start_worker: Callable[[str], Worker]) -> None:
    worker = start_worker("stream:\n  port: 0\n  max_body_bytes: 100\n")
    smuggled = smuggled_request(json.dumps(person(1)).encode(), secret=None)
    head = (
        b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {len(smuggled)}\r\n\r\n".encode()
    )
    received = exchange(worker, head + smuggled)
    assert status_lines(received) == [b"HTTP/1.1 413"]
    assert b"\r\nConnection: close\r\n" in received
    assert logged_changes(worker) == 0
    assert stored(worker) == {}


def test_read_body_keeps_connection(worker: Worker) -> None:
    received = exchange(worker, smuggled_request(b"{not json") + SMUGGLED)
    assert status_lines(received) == [b"HTTP/1.1 400", b"HTTP/1.1 202"]
    assert b"Connection: close" not in received
    assert sorted(stored(worker)) == ["1"]


def test_missing_key_rejected(worker: Worker) -> None:
    status, answer = signed_post(worker, json.dumps([person(1), {"first_name": "X"}]).encode())
    assert status == 400
    assert "item 1" in str(answer)


def test_rejected_body_stores_nothing(worker: Worker) -> None:
    signed_post(worker, json.dumps([person(1), {"first_name": "X"}]).encode())
    assert stored(worker) == {}


def test_unknown_source_not_found(worker: Worker) -> None:
    status, answer = post(url(worker, "/ingest/billing"), b"{}")
    assert status == 404
    assert "billing" in str(answer)


def test_missing_signature_rejected(worker: Worker) -> None:
    status, answer = post(url(worker, "/ingest/crm"), json.dumps(person(1)).encode())
    assert status == 401
    assert "X-Accord-Signature" in str(answer)


def test_uppercase_signature_accepted(worker: Worker) -> None:
    body = json.dumps(person(1)).encode()
    header = "sha256=" + signature(SECRET, body).removeprefix("sha256=").upper()
    status, _ = post(url(worker, "/ingest/crm"), body, {"X-Accord-Signature": header})
    assert status == 202


def test_wrong_signature_rejected(worker: Worker) -> None:
    status, _ = signed_post(worker, json.dumps(person(1)).encode(), secret="other")
    assert status == 401


def test_non_ascii_signature_rejected(worker: Worker) -> None:
    body = json.dumps(person(1)).encode()
    header = "sha256=" + "é" * 64
    status, answer = post(url(worker, "/ingest/crm"), body, {"X-Accord-Signature": header})
    assert status == 401
    assert "X-Accord-Signature" in str(answer)


def test_wrong_signature_stores_nothing(worker: Worker) -> None:
    signed_post(worker, json.dumps(person(1)).encode(), secret="other")
    assert stored(worker) == {}


def test_health_reports_ok_and_then_ready(worker: Worker) -> None:
    status, text = get(url(worker, "/health"))
    assert status == 200
    assert json.loads(text)["status"] == "ok"
    deadline = time.monotonic() + 10
    while not json.loads(text)["ready"] and time.monotonic() < deadline:
        time.sleep(0.05)
        status, text = get(url(worker, "/health"))
    assert json.loads(text)["ready"] is True


def test_metrics_count_changes(worker: Worker) -> None:
    signed_post(worker, json.dumps([person(1), person(2)]).encode())
    wait_processed(worker)
    deadline = time.monotonic() + 10
    status, text = get(url(worker, "/metrics"))
    while "accord_processing_latency_seconds_count 2" not in text and time.monotonic() < deadline:
        time.sleep(0.1)
        status, text = get(url(worker, "/metrics"))
    assert status == 200
    assert 'accord_changes_received_total{source="crm"} 2' in text
    assert 'accord_changes_processed_total{source="crm"} 2' in text
    assert "accord_processing_latency_seconds_count 2" in text
    assert 'accord_lag_seconds{source="crm"} 0.0' in text


def wait_ready(worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, text = get(url(worker, "/health"))
        if status == 200 and json.loads(text)["ready"]:
            return
        time.sleep(0.1)
    raise AssertionError("worker not ready")


def test_committed_change_wakes_an_idle_worker(start_worker: Callable[[str], Worker]) -> None:
    worker = start_worker(IDLE)
    wait_ready(worker)
    # Long enough for the processor to find the log empty and start its idle wait.
    time.sleep(1)
    status, _ = post(url(worker, "/ingest/crm"), json.dumps(person(1)).encode())
    assert status == 202
    wait_processed(worker, timeout=30)


def test_oversized_body_still_sending_reads_413(start_worker: Callable[[str], Worker]) -> None:
    """A client that sends its whole oversized body before reading gets the 413, not a reset."""
    worker = start_worker("stream:\n  port: 0\n  max_body_bytes: 100\n")
    host, port = worker.server.server_address[:2]
    body = b"x" * 2_000_000
    head = (
        b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    with socket.create_connection((str(host), int(port)), timeout=5) as connection:
        connection.sendall(head + body[:1000])
        # By now the worker has sent the 413 and stopped reading the request.
        time.sleep(0.3)
        connection.sendall(body[1000:])
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert status_lines(received) == [b"HTTP/1.1 413"]
    assert logged_changes(worker) == 0


def test_drain_stops_after_its_time() -> None:
    """A client that never stops sending keeps the draining thread busy for the given time only."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname()[:2])
    server_side, _ = listener.accept()
    stop = threading.Event()

    def flood() -> None:
        try:
            while not stop.is_set():
                client.sendall(b"y" * 65536)
        except OSError:
            pass

    sender = threading.Thread(target=flood)
    sender.start()
    started = time.monotonic()
    discarded = drain(server_side, 0.5)
    elapsed = time.monotonic() - started
    stop.set()
    server_side.close()
    sender.join(timeout=5)
    client.close()
    listener.close()
    assert 0.4 < elapsed < 2.0
    assert discarded > 0


@pytest.mark.parametrize(
    ("length", "status"),
    [(1_000_000, b"HTTP/1.1 413"), (50, b"HTTP/1.1 100")],
)
def test_expect_continue_checks_length_first(
    start_worker: Callable[[str], Worker], length: int, status: bytes
) -> None:
    """A client asking for 100 Continue learns of an oversized body before it uploads it."""
    worker = start_worker("stream:\n  port: 0\n  max_body_bytes: 100\n")
    head = (
        b"POST /ingest/crm HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        + f"Content-Length: {length}\r\n\r\n".encode()
    )
    host, port = worker.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=5) as connection:
        connection.sendall(head)
        first = connection.recv(65536)
    assert first.startswith(status)
    assert logged_changes(worker) == 0


def test_intake_sockets_send_without_nagle(worker: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    options: list[int] = []
    original = IntakeHandler.setup

    def setup(handler: IntakeHandler) -> None:
        original(handler)
        options.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(IntakeHandler, "setup", setup)
    status, _ = signed_post(worker, json.dumps(person(1)).encode())

    assert status == 202
    assert options
    assert all(options)


class HungUpClient:
    """A response stream whose client has closed the connection."""

    def write(self, data: bytes) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        return None


def test_hung_up_client_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    handler = IntakeHandler.__new__(IntakeHandler)
    handler.wfile = HungUpClient()  # type: ignore[assignment]
    handler.request_version = "HTTP/1.1"
    handler.requestline = "POST /ingest/crm HTTP/1.1"
    handler.command = "POST"
    handler.client_address = ("127.0.0.1", 50000)
    handler.close_connection = False

    with caplog.at_level("INFO", logger="accord.stream.http_intake"):
        handler._send(202, b'{"accepted": 1}', "application/json")

    assert handler.close_connection
    assert [record.getMessage() for record in caplog.records] == [
        "127.0.0.1 closed the connection before its 202 response was sent"
    ]


def test_failed_request_logs_one_warning(
    worker: Worker, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level("INFO", logger="accord.stream.http_intake"):
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            worker.server.handle_error(None, ("127.0.0.1", 50000))

    assert [record.getMessage() for record in caplog.records] == [
        "request from 127.0.0.1 failed: ConnectionResetError: [Errno 104] Connection reset by peer"
    ]
    assert capsys.readouterr().err == ""
