"""Set-based writes for the jobs: INSERT ... SELECT, built from ORM querysets.

Django's bulk_create builds every row in Python; for the batch jobs the rows to insert
(audit entries, owed emails) are already in the database, so the database can make them
itself. One statement per chunk, portable across PostgreSQL and SQLite.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models


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


def update_returning(
    *,
    candidates: models.QuerySet[Any],
    limit: int,
    values: dict[str, Any],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """UPDATE up to `limit` of `candidates` (rows other transactions hold are skipped)
    and return `returning` of the rows changed: lock, change and read in one statement."""
    model = candidates.model
    qn = connection.ops.quote_name
    chosen = candidates.select_for_update(skip_locked=True).order_by().values("pk")[:limit]
    chosen_sql, chosen_params = chosen.query.sql_with_params()
    assignments, params = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)
        assignments.append(f"{qn(str(getattr(field, 'column', name)))} = %s")
        params.append(field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    columns = [qn(str(getattr(model._meta.get_field(n), "column", n))) for n in returning]
    pk = qn(str(model._meta.pk.column))  # type: ignore[union-attr]
    # On PostgreSQL, ANY(ARRAY(...)) runs the choice once and updates by primary key; a
    # plain IN (subquery) can be planned as a semi-join over the whole table per chunk.
    if connection.vendor == "postgresql":
        where = f"{pk} = ANY(ARRAY({chosen_sql}))"
    else:
        where = f"{pk} IN ({chosen_sql})"
    sql = (
        f"UPDATE {qn(model._meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {where} RETURNING {', '.join(columns)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *chosen_params])
        return [tuple(row) for row in cursor.fetchall()]
