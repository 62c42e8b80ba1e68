"""The long-running worker behind ``accord serve``.

Intakes (HTTP, NATS, Redis, PostgreSQL replication, polling) run in their own
threads and only append to the change log. The main thread runs the
processor loop, and a delivery thread fires triggers and syncs each committed
micro-batch while the next one is applied. SIGTERM or SIGINT stops the
intakes after the current micro-batch has committed, delivers what is
committed, and the worker returns.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from accord.config.loader import LoadedProject
from accord.errors import ConfigError, ConfigProblem
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream import changelog
from accord.stream.delivery import DeliveryThread
from accord.stream.http_intake import IntakeServer, start_http
from accord.stream.intakes import intake_runners
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor

logger = get_logger(__name__)

LAG_LOG_SECONDS = 30.0
RESTART_DELAY_SECONDS = 5.0


class Worker:
    """Intake threads, the HTTP server and the processor loop over one open store."""

    def __init__(
        self,
        loaded: LoadedProject,
        store: Store,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        _check_sources(loaded)
        settings = loaded.project.stream
        self.loaded = loaded
        self.store = store
        self.stop_event = threading.Event()
        self.metrics = Metrics(lag=self._lag)
        self.processor = Processor(loaded, store, self.metrics, settings.batch_size)
        self.delivery = DeliveryThread(loaded, store)
        self.processor.on_commit = self.delivery.wake
        self.server = IntakeServer(
            (host or settings.host, settings.port if port is None else port),
            loaded,
            store,
            self.metrics,
            lambda: self.processor.ready,
        )
        self.threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        """Return the host and port the HTTP server listens on."""
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Start the delivery thread, the HTTP server and every configured intake thread."""
        self.delivery.start()
        self.threads.append(start_http(self.server))
        for name, runner in intake_runners(self.loaded, self.store, self.metrics):
            thread = threading.Thread(
                target=_keep_running,
                args=(name, runner, self.stop_event),
                name=f"accord-{name}",
                daemon=True,
            )
            thread.start()
            self.threads.append(thread)

    def request_stop(self) -> None:
        """Ask the worker to stop after the current micro-batch; safe in a signal handler."""
        self.stop_event.set()
        self.metrics.arrived.set()

    def run(self) -> None:
        """Process changes until a stop is requested, then stop the intakes."""
        logger.info(
            "worker started: store %s, %d intake threads", self.store.path, len(self.threads)
        )
        self.processor.prepare()
        logger.info("worker ready: taking changes")
        last_lag_log = time.monotonic()
        while not self.stop_event.is_set():
            # Cleared before reading the log, so a change committed meanwhile ends the wait below.
            self.metrics.arrived.clear()
            handled = self._process()
            now = time.monotonic()
            if now - last_lag_log >= LAG_LOG_SECONDS:
                self._log_lag()
                last_lag_log = now
            if handled == 0:
                self.metrics.arrived.wait(self.loaded.project.stream.idle_seconds)
        self.shutdown()

    def _process(self) -> int:
        try:
            return self.processor.process_once()
        except Exception as exc:
            logger.error("processing failed, retrying: %s: %s", type(exc).__name__, exc)
            self.stop_event.wait(RESTART_DELAY_SECONDS)
            return 0

    def shutdown(self) -> None:
        """Stop accepting changes, stop the intake threads, then finish delivering."""
        logger.info("worker stopping: closing intakes")
        self.server.accepting = False
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self.threads:
            thread.join(timeout=30)
            if thread.is_alive():
                logger.warning("intake thread %s did not stop within 30 s", thread.name)
        self.delivery.stop()
        self._log_lag()
        logger.info("worker stopped")

    def _lag(self) -> dict[str, float]:
        cursor = self.store.connection.cursor()
        try:
            return changelog.lag_seconds(cursor)
        finally:
            cursor.close()

    def _log_lag(self) -> None:
        lag = self._lag()
        if not lag:
            logger.info("lag: no pending changes")
        for source, seconds in sorted(lag.items()):
            logger.info("lag of source %s: %.1f s", source, seconds)


def _keep_running(
    name: str, runner: Callable[[threading.Event], None], stop: threading.Event
) -> None:
    """Run an intake until ``stop`` is set, restarting it after an error."""
    logger.info("intake %s started", name)
    while not stop.is_set():
        try:
            runner(stop)
        except Exception as exc:
            logger.error(
                "intake %s failed, restarting in %.0f s: %s: %s",
                name,
                RESTART_DELAY_SECONDS,
                type(exc).__name__,
                exc,
            )
            stop.wait(RESTART_DELAY_SECONDS)
    logger.info("intake %s stopped", name)


def _check_sources(loaded: LoadedProject) -> None:
    known = {source.name for source in loaded.project.sources}
    problems = [
        ConfigProblem(
            str(loaded.path),
            f"stream.sources.{name}",
            None,
            f"no source named '{name}'; known sources: {', '.join(sorted(known))}",
        )
        for name in loaded.project.stream.sources
        if name not in known
    ]
    if problems:
        raise ConfigError(problems)


def serve(loaded: LoadedProject, store: Store, host: str | None, port: int | None) -> None:
    """Run the worker in the main thread until SIGTERM or SIGINT."""
    worker = Worker(loaded, store, host, port)

    def on_signal(number: int, frame: FrameType | None) -> None:
        logger.info(
            "received %s; stopping after the current micro-batch", signal.Signals(number).name
        )
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    worker.run()
