"""Lists of rows for the services: the read model's fragments composed into row queries.

The resolvers and the reference REST path read pages of rows (their DataLoaders batch a
page per parent), not JSON. They used to run one hand-written statement per sort order;
now they run a statement composed here from the same fragments the planner uses, so a
sort, a filter or a keyset position is written once. A composed statement is kept per
shape (type, sort, filters given, batched or not, keyset or not), never per value.

A page query returns the type's columns (every field of the model, under its name),
`sort_key` (the row's sort key, for its cursor) and, when batched by parent, `parent_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from gateway import telemetry
from gateway.db import Database, Row
from gateway.reads import dependencies
from gateway.reads.model import MODEL, Relation, Type
from gateway.reads.planner import key_types, keyset, sort_order

_ALIAS = "t"


@dataclass(frozen=True, slots=True)
class Rows:
    """A page query's shape: a window of one type's rows."""

    type: str
    sort: str
    filters: tuple[str, ...] = ()
    after: bool = False
    batch: str | None = None
    """A relation (`Product.reviews`) whose rows are read for many parents at once: the
    first parameter is then the parents' ids, and each row says its `parent_id`."""
    pulls: tuple[str, ...] = ()
    """Fields of to-one relations to add as columns: `author.display_name` gives
    `author_display_name`."""
    owned: bool = False
    """Only the caller's own rows (the type's owner rule; the last parameter is the id)."""


@dataclass(frozen=True, slots=True)
class Count:
    """A count query's shape: how many rows match, per parent when batched."""

    type: str
    filters: tuple[str, ...] = ()
    batch: str | None = None
    owned: bool = False


@lru_cache(maxsize=512)
def rows_sql(page: Rows) -> str:
    """The statement of a page. Parameters, in order: the parents' ids (when batched),
    each filter's value, the keyset position (key, id or id alone), the row limit, and the
    caller's id (when owned)."""
    owner = MODEL[page.type]
    numbers = _Numbers()
    parents = numbers.next("bigint[]") if page.batch else ""
    conditions = _conditions(owner, page.filters, numbers, _ALIAS)
    sort, descending = owner.sort(page.sort)
    if page.after:
        position = [numbers.next(t) for t in key_types(sort)]
        conditions.append(keyset(sort, descending, _ALIAS, position))
    limit = numbers.next("integer")
    if page.owned:
        conditions.append(f"{_fill(owner.owner)} = {numbers.next('bigint')}")
    source = f"{owner.table} {_ALIAS}"
    if page.batch is not None:
        relation = _relation(page.batch, owner)
        conditions.insert(0, relation.on.replace("{t}", _ALIAS).replace("{p}", "k"))
    columns = _columns(owner, page.pulls)
    key = f"{sort.sql.replace('{t}', _ALIAS)} AS sort_key"
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    order = sort_order(owner, sort, descending, _ALIAS)
    inner = f"SELECT {columns}, {key} FROM {source}{where} ORDER BY {order} LIMIT {limit}"
    if page.batch is None:
        return inner
    direction = " DESC" if descending else ""
    outer_order = f"p.sort_key{direction}" + ("" if sort.kind == "id" else f", p.id{direction}")
    return (
        f"SELECT k.id AS parent_id, p.* FROM unnest({parents}) AS k (id)"
        f" CROSS JOIN LATERAL ({inner}) p ORDER BY k.id, {outer_order}"
    )


@lru_cache(maxsize=128)
def count_sql(count: Count) -> str:
    """The statement of a count (per parent when batched: `parent_id`, `total`)."""
    owner = MODEL[count.type]
    numbers = _Numbers()
    parents = numbers.next("bigint[]") if count.batch else ""
    conditions = _conditions(owner, count.filters, numbers, _ALIAS)
    if count.owned:
        conditions.append(f"{_fill(owner.owner)} = {numbers.next('bigint')}")
    if count.batch is not None:
        relation = _relation(count.batch, owner)
        conditions.insert(0, relation.on.replace("{t}", _ALIAS).replace("{p}", "k"))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    total = f"SELECT count(*) FROM {owner.table} {_ALIAS}{where}"
    if count.batch is None:
        return total
    return f"SELECT k.id AS parent_id, ({total}) AS total FROM unnest({parents}) AS k (id)"


class _Numbers:
    def __init__(self) -> None:
        self.count = 0

    def next(self, sql_type: str) -> str:
        self.count += 1
        return f"${self.count}::{sql_type}"


def _fill(template: str) -> str:
    return template.replace("{t}", _ALIAS)


def _conditions(owner: Type, filters: Sequence[str], numbers: _Numbers, t: str) -> list[str]:
    found = []
    for name in filters:
        condition = owner.filter(name)
        found.append(condition.sql.replace("{t}", t).replace("{v}", numbers.next(condition.type)))
    return found


def _relation(batch: str, target: Type) -> Relation:
    parent_name, _, relation_name = batch.partition(".")
    relation = MODEL[parent_name].relation(relation_name)
    if relation.target != target.name or relation.through or relation.source:
        raise ValueError(f"{batch} cannot batch {target.name} rows")
    return relation


def _columns(owner: Type, pulls: Sequence[str]) -> str:
    found = [f"({_fill(f.sql)}) AS {f.name}" for f in owner.fields]
    for pull in pulls:
        relation_name, _, field_name = pull.partition(".")
        relation = owner.relation(relation_name)
        target = MODEL[relation.target]
        value = target.field(field_name).sql.replace("{t}", "r")
        on = relation.on.replace("{t}", "r").replace("{p}", _ALIAS)
        found.append(
            f"(SELECT {value} FROM {target.table} r WHERE {on}) AS {relation_name}_{field_name}"
        )
    return ", ".join(found)


LABEL = "reads.list"
"""How composed row statements appear in a request's statement record."""


async def fetch(db: Database, shape: Rows | Count, args: Sequence[object]) -> list[Row]:
    """The rows of a page or count query with its parameters in order. The request's record
    learns the tables it read (what a whole answer built from it depends on)."""
    sql = rows_sql(shape) if isinstance(shape, Rows) else count_sql(shape)
    stats = telemetry.current()
    if stats is not None:
        stats.depends_on.update(_depends_on(shape))
    return await db.fetch_read_all(LABEL, sql, args)


@lru_cache(maxsize=512)
def _depends_on(shape: Rows | Count) -> frozenset[str]:
    """The generations a page or count reads, from the model: its type's tables, its
    filters' and its pulled relations'."""
    owner = MODEL[shape.type]
    tables = {owner.table, *owner.tables}
    for name in shape.filters:
        tables.update(owner.filter(name).tables)
    for pull in shape.pulls if isinstance(shape, Rows) else ():
        target = MODEL[owner.relation(pull.partition(".")[0]).target]
        tables.update((target.table, *target.tables))
    return dependencies.generations_read(tables)
