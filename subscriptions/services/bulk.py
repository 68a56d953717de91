"""Set-based writes for the jobs: INSERT ... SELECT, built from ORM querysets; and the
webhook intake's single-row insert-unless-exists, in one round trip.

Django's bulk_create builds every row in Python; for the batch jobs the rows to insert
(audit entries, owed emails) are already in the database, so the database can make them
itself. One statement per chunk, portable across PostgreSQL and SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
)
from django.db.backends.base.base import BaseDatabaseWrapper


def insert_from_select(
    *,
    model: type[models.Model],
    columns: dict[str, Any],
    source: models.QuerySet[Any],
    ignore_conflicts: bool = False,
) -> int:
    """INSERT INTO model (columns...) SELECT <expressions> FROM source.

    `columns` maps the target model's field names to expressions over `source`'s model
    (F(), Value(), functions). Returns the number of rows inserted.
    """
    fields = [model._meta.get_field(name) for name in columns]
    db_columns = [str(getattr(f, "column", "")) for f in fields]
    aliases = {f"_insert_{i}": expr for i, expr in enumerate(columns.values())}
    select = source.order_by().annotate(**aliases).values_list(*aliases)
    select_sql, params = select.query.sql_with_params()
    target = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in db_columns)
    sql = f"INSERT INTO {target} ({names}) {select_sql}"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


@dataclass(frozen=True)
class RowPerChange:
    """One row of `model` for every row an UPDATE changes: `key` (a field of `model`)
    gets the changed row's primary key, `values` are the same for every row."""

    model: type[models.Model]
    key: str
    values: dict[str, Any] = field(default_factory=dict)


def update_returning(
    *,
    candidates: models.QuerySet[Any],
    limit: int,
    values: dict[str, Any],
    returning: tuple[str, ...],
    also_insert: RowPerChange | None = None,
) -> list[tuple[Any, ...]]:
    """UPDATE up to `limit` of `candidates` (rows other transactions hold are skipped)
    and return `returning` of the rows changed: lock, change and read in one statement.

    `also_insert` writes one row per changed row (an audit entry) in the same statement
    on PostgreSQL (a data-modifying CTE feeding INSERT ... SELECT from the RETURNING
    rows, so the changed rows are not read again); elsewhere in one more statement."""
    model = candidates.model
    qn = connection.ops.quote_name
    chosen = candidates.select_for_update(skip_locked=True).order_by().values("pk")[:limit]
    chosen_sql, chosen_params = chosen.query.sql_with_params()
    assignments, params = _assignments(model, values)
    columns = [qn(_column(model, n)) for n in returning]
    pk = qn(_column(model, "pk"))
    # On PostgreSQL, ANY(ARRAY(...)) runs the choice once and updates by primary key; a
    # plain IN (subquery) can be planned as a semi-join over the whole table per chunk.
    if connection.vendor == "postgresql":
        where = f"{pk} = ANY(ARRAY({chosen_sql}))"
    else:
        where = f"{pk} IN ({chosen_sql})"
    update = f"UPDATE {qn(model._meta.db_table)} SET {', '.join(assignments)} WHERE {where}"
    params = [*params, *chosen_params]
    if also_insert is None:
        with connection.cursor() as cursor:
            cursor.execute(f"{update} RETURNING {', '.join(columns)}", params)
            return [tuple(row) for row in cursor.fetchall()]
    target = also_insert.model
    names = ", ".join(qn(_column(target, n)) for n in (also_insert.key, *also_insert.values))
    constants = [
        target._meta.get_field(name).get_db_prep_save(value, connection)  # type: ignore[union-attr]
        for name, value in also_insert.values.items()
    ]
    insert = f"INSERT INTO {qn(target._meta.db_table)} ({names})"
    if connection.vendor == "postgresql":
        placeholders = "".join(", %s" for _ in constants)
        sql = (
            f"WITH changed AS ({update} RETURNING {pk} AS _changed_pk, {', '.join(columns)}), "
            f"inserted AS ({insert} SELECT _changed_pk{placeholders} FROM changed) "
            f"SELECT {', '.join(columns)} FROM changed"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *constants])
            return [tuple(row) for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute(f"{update} RETURNING {pk}, {', '.join(columns)}", params)
        rows = cursor.fetchall()
        if rows:
            placeholders = ", ".join("%s" for _ in range(len(constants) + 1))
            cursor.executemany(
                f"{insert} VALUES ({placeholders})", [[row[0], *constants] for row in rows]
            )
    return [tuple(row[1:]) for row in rows]


def _column(model: type[models.Model], name: str) -> str:
    found = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return str(getattr(found, "column", name))


def _assignments(model: type[models.Model], values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    assignments, params = [], []
    for name, value in values.items():
        model_field = model._meta.get_field(name)
        assignments.append(f"{connection.ops.quote_name(_column(model, name))} = %s")
        params.append(model_field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    return assignments, params


_INSERTS: dict[tuple[Any, ...], str] = {}


def insert_unless_exists(
    *, model: type[models.Model], values: dict[str, Any], unique: str
) -> Any | None:
    """Insert one row of `model` with `values` (field name -> value; a JSON field takes
    its JSON text as it is, not parsed and dumped again) unless a row with the same
    `unique` value exists: one statement (INSERT ... ON CONFLICT DO NOTHING RETURNING),
    committed by itself outside a transaction, so no BEGIN, savepoint or IntegrityError
    round trips. Concurrent inserts of the same value store one row; the others get None,
    the new row its primary key. Fields left out get NULL: give every NOT NULL one.
    The statement is built once per model and set of fields. Without the connection
    health check's extra round trip: see `_execute_once`.

    On PostgreSQL the values are bound by the server (psycopg's `Cursor`: the statement
    and the values travel apart, nothing is quoted in Python) and must already be what
    psycopg adapts (str, int, aware datetimes); elsewhere each field prepares its value."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a proxy's lookup
    postgresql = db.vendor == "postgresql"
    key = (model, tuple(values), unique, db.vendor)
    sql = _INSERTS.get(key)
    meta = model._meta
    if sql is None:
        qn = db.ops.quote_name
        fields = [meta.get_field(name) for name in values]
        placeholders = [
            "CAST(%s AS jsonb)" if postgresql and isinstance(f, models.JSONField) else "%s"
            for f in fields
        ]
        sql = _INSERTS[key] = (
            f"INSERT INTO {qn(meta.db_table)} "
            f"({', '.join(qn(str(getattr(f, 'column', ''))) for f in fields)}) "
            f"VALUES ({', '.join(placeholders)}) "
            f"ON CONFLICT ({qn(_column(model, unique))}) DO NOTHING "
            f"RETURNING {qn(_column(model, 'pk'))}"
        )
    if postgresql:
        params = list(values.values())
    else:
        params = [
            value if isinstance(f, models.JSONField) else f.get_db_prep_save(value, db)  # type: ignore[union-attr]
            for f, value in zip(
                (meta.get_field(name) for name in values), values.values(), strict=True
            )
        ]
    row = _execute_once(db, sql, params)
    return None if row is None else row[0]


def _execute_once(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run one self-committing statement and return its first row.

    Without the round trip of the per-request connection health check (a `SELECT 1`
    before the request's first query, settings: conn_health_checks): the statement goes
    first, and only if the connection turns out dead (PostgreSQL restarted, or dropped
    it) is it sent once more on a new connection. The caller's statement must be safe to
    send twice (an INSERT ... ON CONFLICT DO NOTHING that committed before its answer was
    lost finds its own row the second time, and answers none).
    Inside a transaction the check stays Django's: a dead connection there is an error."""
    skip_check = (
        db.connection is not None
        and getattr(db, "health_check_enabled", False)  # (the stubs lack both)
        and not getattr(db, "health_check_done", True)
        and not db.in_atomic_block
    )
    if skip_check:
        setattr(db, "health_check_done", True)  # noqa: B010
    try:
        return _fetch_one(db, sql, params)
    except (OperationalError, InterfaceError):
        if not skip_check:
            raise
        db.close()  # the next cursor connects afresh
        return _fetch_one(db, sql, params)


def _fetch_one(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with _cursor(db) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else tuple(row)


def _cursor(db: BaseDatabaseWrapper) -> Any:
    """Django's cursor; on PostgreSQL one that binds on the server (psycopg's `Cursor`,
    where Django's connection makes client-side binding `ClientCursor`s), wrapped as
    Django wraps its own: database errors as Django's, queries logged and counted
    (`django_assert_num_queries`), execute wrappers run, the health check done unless
    the caller skipped it (`_execute_once`)."""
    if db.vendor != "postgresql":
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = psycopg.Cursor(db.connection)
    db.validate_thread_sharing()
    # (The stubs say these take a wrapper; they take the driver's cursor and wrap it.)
    wrap = db.make_debug_cursor if db.queries_logged else db.make_cursor
    return wrap(raw)  # type: ignore[arg-type]
