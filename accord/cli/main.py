"""The ``accord`` command line.

Exit codes: 0 success, 1 the run or command failed, 2 invalid project file or arguments.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from accord.cli import render
from accord.cli.progress import RichProgress
from accord.config.loader import DEFAULT_FILE, LoadedProject, load_project
from accord.config.starter import STARTER_DATA, STARTER_PROJECT
from accord.errors import AccordError, ConfigError, NotFoundError, OutputPathError
from accord.export import check_output_file
from accord.store.duckdb_store import Store

EXIT_FAILED = 1
EXIT_INVALID = 2

app = typer.Typer(
    name="accord",
    help="Keep customer records consistent across every tool.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Values from sources are printed as they are, never read as rich markup.
console = Console(markup=False)
errors = Console(stderr=True, markup=False)


class _State:
    project_path: Path = Path(DEFAULT_FILE)
    quiet: bool = False


state = _State()


@app.callback()
def main(
    project: Annotated[
        Path, typer.Option("--project", "-p", help="Project file, or a folder holding accord.yaml.")
    ] = Path(DEFAULT_FILE),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors and final results.")
    ] = False,
) -> None:
    """Keep customer records consistent across every tool."""
    state.project_path = project
    state.quiet = quiet
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    elif quiet:
        level = logging.WARNING
    handler = RichHandler(console=errors, show_path=False, show_time=verbose)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True, format="%(message)s")
    logging.getLogger("accord").setLevel(level)


# A service's log goes to files and collectors, which take one line per record,
# with the time and the thread that wrote it.
SERVICE_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_control(match: re.Match[str]) -> str:
    return _ESCAPES.get(match[0], f"\\x{ord(match[0]):02x}")


class OneLineFormatter(logging.Formatter):
    """A log formatter that writes each record, traceback included, as one escaped line.

    Control characters become escapes such as ``\\n`` and ``\\x1b``, so a value
    from a request (a key holding a newline or a terminal escape code) can
    neither forge a log line nor change the terminal.
    """

    def format(self, record: logging.LogRecord) -> str:
        return _CONTROL.sub(_escape_control, super().format(record))


def _log_plain_lines() -> None:
    """Replace the terminal log handler with one that writes one plain line per record."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(SERVICE_LOG_FORMAT))
    logging.getLogger().handlers = [handler]


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print an error and return the exit to raise."""
    # The message may quote values with square brackets, which rich would read as markup.
    text = f"[red]error:[/red] {escape(message)}"
    errors.print(text, highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def _load() -> LoadedProject:
    try:
        return load_project(state.project_path)
    except ConfigError as exc:
        errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None


def _check_output(path: Path) -> None:
    """Exit with code 2 unless ``path`` can take an export file."""
    try:
        check_output_file(path)
    except OutputPathError as exc:
        raise fail(str(exc), EXIT_INVALID) from None


def _write_failed(path: Path, exc: Exception) -> typer.Exit:
    """Return the exit for an export write that failed after the path check."""
    return fail(f"failed to write {path}: {exc}")


def _open_store(loaded: LoadedProject, read_only: bool = False) -> Store:
    path = loaded.resolve(loaded.project.store.path)
    if read_only and not path.exists():
        raise fail(f"store {path} does not exist yet; run 'accord run' first")
    try:
        return Store.open(path, read_only=read_only)
    except AccordError as exc:
        raise fail(str(exc)) from None


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing accord.yaml.")] = False,
) -> None:
    """Write a commented starter project (accord.yaml and a sample CSV)."""
    target = folder / DEFAULT_FILE
    if target.exists() and not force:
        raise fail(f"{target} already exists; pass --force to overwrite it", EXIT_INVALID)
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(STARTER_PROJECT, encoding="utf-8")
    sample = folder / "data" / "customers.csv"
    if not sample.exists():
        sample.parent.mkdir(parents=True, exist_ok=True)
        sample.write_text(STARTER_DATA, encoding="utf-8")
    console.print(f"wrote {target} and {sample}; next: accord -p {target} run")


@app.command()
def validate() -> None:
    """Check the project file without running it."""
    loaded = _load()
    project = loaded.project
    console.print(
        f"{loaded.path} is valid: {len(project.sources)} sources, "
        f"{len(project.quality)} quality rules"
    )


@app.command("run")
def run_command(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore saved cursors and read every row.")
    ] = False,
    truth: Annotated[
        Path | None,
        typer.Option(help="CSV of source,source_key,entity ground truth to score the run against."),
    ] = None,
) -> None:
    """Extract, standardize, validate and store every source, then resolve and merge."""
    from accord.pipeline import run

    loaded = _load()
    with _open_store(loaded) as store:
        try:
            with RichProgress(errors, enabled=not state.quiet) as progress:
                summary = run(loaded, store, progress=progress, full_refresh=full_refresh)
        except AccordError as exc:
            raise fail(str(exc)) from None
        render.run_summary(console, summary)
        if truth is not None:
            render.truth_scores(console, store, truth)
        if loaded.project.triggers:
            _fire_triggers(loaded, store, summary.run_id)


def _fire_triggers(loaded: LoadedProject, store: Store, run_id: int) -> None:
    """Fire the project's triggers on the run's golden changes and print what they did."""
    from collections import Counter

    from accord.triggers import fire_triggers

    try:
        report = fire_triggers(loaded, store, run_id)
    except AccordError as exc:
        raise fail(f"triggers failed: {exc}") from None
    counts = Counter((result.firing.trigger, result.action, result.result)
                     for result in report.results)
    for (trigger, action, result), count in sorted(counts.items()):
        console.print(f"trigger {trigger}: {action} {result} for {count} entities")
    if report.failed:
        raise fail(f"{len(report.failed)} trigger actions failed; see the log above")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Entity ID, source:key, source key or email.")],
) -> None:
    """Show one customer: member records and, when merged, the golden record with lineage."""
    from accord.store.queries import find_records

    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        try:
            shown = render.customer(console, store, key)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
        if not shown:
            records = find_records(store.connection, key)
            if not records:
                raise fail(f"no customer found for '{key}'; try 'accord search TEXT'")
            render.records(console, records)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Part of a name, email, phone, company or key.")],
    limit: Annotated[int, typer.Option(help="Maximum number of records to list.")] = 20,
) -> None:
    """Find records by name, email, phone, company or key."""
    from accord.store.queries import search_records

    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        found = search_records(store.connection, text, limit)
    if not found:
        raise fail(f"no records match '{text}'")
    render.record_list(console, found)


@app.command()
def stats() -> None:
    """Print counts per source, quarantine and the latest runs."""
    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        render.stats(console, store)


@app.command()
def quarantine(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write every entry to this CSV file instead of printing.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Maximum number of entries to print.")] = 50,
) -> None:
    """List or export quarantined records with the rule, field, value and reason."""
    from accord.store.queries import quarantine_rows

    if export is not None:
        _check_output(export)
    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        if export is not None:
            try:
                count = render.export_quarantine(store, export, source)
            except OSError as exc:
                raise _write_failed(export, exc) from None
            console.print(f"wrote {count} quarantine entries to {export}")
            return
        rows = quarantine_rows(store.connection, source, limit)
    render.quarantine_table(console, rows)


@app.command()
def export(
    output: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or jsonl.")] = "csv",
) -> None:
    """Export golden records (or, before the first merge, current source records)."""
    if format not in {"csv", "parquet", "jsonl"}:
        raise fail(f"unknown format '{format}'; use csv, parquet or jsonl", EXIT_INVALID)
    _check_output(output)
    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        try:
            count = render.export_records(store, output, format)
        except duckdb.IOException as exc:
            raise _write_failed(output, exc) from None
    console.print(f"wrote {count} records to {output}")


@app.command()
def train() -> None:
    """Estimate the match model (u by sampling, m by EM), store it and print its weights."""
    from accord.cli.entity_view import print_weights
    from accord.pipeline import now_utc
    from accord.resolve import deterministic
    from accord.resolve.comparisons import INPUT_COLUMNS
    from accord.resolve.inputs import INPUT_TABLE, build_input
    from accord.resolve.model import available_columns, choose_comparisons
    from accord.resolve.stage import train_model

    loaded = _load()
    project = loaded.project
    with _open_store(loaded) as store, store.transaction() as connection:
        sources = [s.name for s in project.sources if s.entity_type == "person"]
        extra = sorted({f for rule in deterministic.rules_for(project) for f in rule.fields})
        count = build_input(connection, sources, extra)
        if count < 2:
            raise fail("the store contains fewer than two person records; run 'accord run' first")
        available = available_columns(connection, INPUT_TABLE, list(INPUT_COLUMNS) + extra)
        names = choose_comparisons(project.matching, available)
        if not names:
            raise fail("no comparison has data; map name, email, phone, address or birth date")
        model = train_model(connection, project, available, names, now_utc())
    print_weights(console, model)


@app.command()
def explain(
    record_a: Annotated[str, typer.Argument(help="First record as source:key.")],
    record_b: Annotated[str, typer.Argument(help="Second record as source:key.")],
) -> None:
    """Show why two records match or not: levels, match weights, prior and decisions."""
    from accord.cli.entity_view import print_explanation
    from accord.governance.explain import explain_pair

    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        try:
            explanation = explain_pair(store.connection, loaded.project, record_a, record_b)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    print_explanation(console, explanation)


@app.command()
def sync(
    destinations: Annotated[
        list[str] | None, typer.Argument(help="Destinations to sync; every one when omitted.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print what would be inserted, updated and deleted; send nothing."
        ),
    ] = False,
    retry_dead: Annotated[
        bool, typer.Option("--retry-dead", help="Send the dead-lettered changes again.")
    ] = False,
    examples: Annotated[int, typer.Option(help="Example changes printed per destination.")] = 3,
) -> None:
    """Write golden records to the destinations: only what changed since the last sync."""
    from accord.sync import run_sync
    from accord.sync.console import print_sync_report
    from accord.sync.runner import select_destinations

    loaded = _load()
    try:
        select_destinations(loaded.project, destinations)
    except AccordError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    if not loaded.project.destinations:
        raise fail("the project declares no destinations; add them under 'destinations'")
    with _open_store(loaded) as store:
        try:
            report = run_sync(
                loaded,
                store,
                destinations,
                dry_run=dry_run,
                retry_dead=retry_dead,
                examples=examples,
            )
        except AccordError as exc:
            raise fail(str(exc)) from None
    print_sync_report(console, report)
    if not report.ok:
        raise fail("some changes were not delivered; see the table above")


@app.command()
def conflicts(
    field: Annotated[str | None, typer.Option(help="Only this golden field.")] = None,
    tool: Annotated[str | None, typer.Option(help="Only this tool (source name).")] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write every conflict to this CSV file instead of printing.")
    ] = None,
    examples: Annotated[int, typer.Option(help="Examples printed per field and tool.")] = 3,
) -> None:
    """List tool values that differ from golden values chosen by an authoritative source."""
    from accord.sync.conflicts import export_conflicts, find_conflicts, group_conflicts
    from accord.sync.console import print_conflicts

    if export is not None:
        _check_output(export)
    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        found = find_conflicts(store.connection, loaded.project, field, tool)
    if export is not None:
        try:
            count = export_conflicts(found, export)
        except OSError as exc:
            raise _write_failed(export, exc) from None
        console.print(f"wrote {count} conflicts to {export}")
        return
    if not found:
        console.print("no conflicts")
        return
    print_conflicts(console, group_conflicts(found, examples))


review_app = typer.Typer(help="List uncertain matches and record decisions.", no_args_is_help=False)
app.add_typer(review_app, name="review")


@review_app.callback(invoke_without_command=True)
def review_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Maximum number of pairs to list.")] = 50,
) -> None:
    """List open review pairs, most probable first."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from accord.governance.decisions import open_reviews

    loaded = _load()
    with _open_store(loaded, read_only=True) as store:
        pairs = open_reviews(store.connection, limit)
    if not pairs:
        console.print("no pairs waiting for review")
        return
    table = Table(title="pairs for review")
    for column in ("record_a", "record_b", "match probability"):
        table.add_column(column)
    for pair in pairs:
        table.add_row(pair.record_a, pair.record_b, f"{pair.match_probability:.4f}")
    console.print(table)
    console.print("decide with: accord review accept A B | accord review reject A B")


def _decide(record_a: str, record_b: str, decision: str) -> None:
    from accord.governance.decisions import decide
    from accord.pipeline import now_utc

    loaded = _load()
    with _open_store(loaded) as store:
        try:
            with store.transaction() as connection:
                decide(connection, record_a, record_b, decision, now_utc())  # type: ignore[arg-type]
        except NotFoundError as exc:
            raise fail(str(exc), EXIT_INVALID) from None
    word = "same customer" if decision == "must_link" else "different customers"
    console.print(
        f"recorded: {record_a} and {record_b} are {word}; "
        "'accord run' applies it and every later run keeps it"
    )


@review_app.command("accept")
def review_accept(
    record_a: Annotated[str, typer.Argument(help="First record as source:key.")],
    record_b: Annotated[str, typer.Argument(help="Second record as source:key.")],
) -> None:
    """Declare two records the same customer (must-link)."""
    _decide(record_a, record_b, "must_link")


@review_app.command("reject")
def review_reject(
    record_a: Annotated[str, typer.Argument(help="First record as source:key.")],
    record_b: Annotated[str, typer.Argument(help="Second record as source:key.")],
) -> None:
    """Declare two records different customers (cannot-link)."""
    _decide(record_a, record_b, "cannot_link")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address the HTTP intake listens on; stream.host when unset.")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP intake port, 0 for a free one; stream.port when unset.")
    ] = None,
) -> None:
    """Run the long-running worker: take changes from every intake and apply them until SIGTERM."""
    from accord.stream.worker import serve as serve_worker

    _log_plain_lines()
    loaded = _load()
    with _open_store(loaded) as store:
        try:
            serve_worker(loaded, store, host, port)
        except ConfigError as exc:
            errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_INVALID) from None
        except AccordError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"cannot start the worker: {exc}") from None


def run_cli() -> None:
    """Entry point that maps unexpected errors to exit code 1."""
    try:
        app()
    except AccordError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    run_cli()
