"""PostgreSQL dates and timestamps that Python's types cannot represent.

PostgreSQL stores ``infinity``, ``-infinity``, years after 9999 and years
before 1. psycopg 3 raises ``DataError`` on such a value and psycopg2 raises
``ValueError``, which fails the whole read, and psycopg2 also reads
``infinity`` as ``date.max`` (9999-12-31), which silently changes the
value. The loaders registered here return the server's text for these values
as :class:`OutOfRangeText`, so the SQL reader can quarantine the record
that holds one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from accord.sources.values import OutOfRangeText

# PostgreSQL type OIDs of date, timestamp and timestamptz.
_DATE_OID = 1082
_TIMESTAMP_OID = 1114
_TIMESTAMPTZ_OID = 1184
_INFINITIES = ("infinity", "-infinity")


def register_date_loaders(engine: sa.Engine) -> None:
    """Make every connection of a PostgreSQL ``engine`` read unrepresentable dates as text."""
    if engine.dialect.name != "postgresql":
        return
    if engine.dialect.driver == "psycopg":
        sa.event.listen(engine, "connect", _register_psycopg)
    elif engine.dialect.driver == "psycopg2":
        sa.event.listen(engine, "connect", _register_psycopg2)


def _register_psycopg(dbapi_connection: Any, _record: object) -> None:
    import psycopg
    from psycopg.types import datetime as loaders

    def tolerant(base: type[psycopg.adapt.Loader]) -> type[psycopg.adapt.Loader]:
        class Tolerant(base):  # type: ignore[valid-type, misc]
            def load(self, data: Any) -> object:
                try:
                    return super().load(data)
                except psycopg.DataError:
                    return OutOfRangeText(bytes(data).decode())

        return Tolerant

    adapters = dbapi_connection.adapters
    adapters.register_loader("date", tolerant(loaders.DateLoader))
    adapters.register_loader("timestamp", tolerant(loaders.TimestampLoader))
    adapters.register_loader("timestamptz", tolerant(loaders.TimestamptzLoader))


def _register_psycopg2(dbapi_connection: Any, _record: object) -> None:
    import psycopg2.extensions as extensions

    casts = [
        (_DATE_OID, extensions.PYDATE),
        (_TIMESTAMP_OID, extensions.PYDATETIME),
        (_TIMESTAMPTZ_OID, extensions.PYDATETIMETZ),
    ]
    for oid, base in casts:
        caster = extensions.new_type((oid,), f"ACCORD_{oid}", _tolerant_cast(base))
        extensions.register_type(caster, dbapi_connection)


def _tolerant_cast(base: Callable[[str, Any], object]) -> Callable[[str | None, Any], object]:
    def cast(text: str | None, cursor: Any) -> object:
        if text is None:
            return None
        if text in _INFINITIES:
            return OutOfRangeText(text)
        try:
            return base(text, cursor)
        except (ValueError, OverflowError):
            return OutOfRangeText(text)

    return cast
