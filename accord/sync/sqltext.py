"""Quoting helpers for the SQL that sync builds from project names and values."""

from __future__ import annotations


def literal(text: str) -> str:
    """Return ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """Return ``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def json_path(key: str) -> str:
    """Return a SQL literal of the JSON path of one object key, such as ``'$."email"'``."""
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return literal(f'$."{escaped}"')


def text_list(items: list[str]) -> str:
    """Return a SQL list of string literals; ``NULL`` when empty, so ``IN (...)`` stays valid."""
    return ", ".join(literal(item) for item in items) or "NULL"
