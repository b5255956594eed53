"""The planner: a selection tree becomes ONE SQL statement whose result is the answer's JSON.

Over 400 lines: one compiler whose parts (objects, relations, keysets) recurse into each other.

PostgreSQL writes the JSON text itself, exactly as orjson writes it for the resolvers
(compact, keys in selection order, floats as Python prints them, timestamps as
`isoformat()`), so both paths answer byte for byte alike and ETags agree. Objects are
`concat()`s of fixed key literals and values; lists are `string_agg()`s over a subquery
that reads a window of rows (its filters, keyset position, order and LIMIT) through the
indexes the sorts declare; to-one relations are correlated subqueries. A page that must
say whether another follows reads one row more and numbers its rows, so the extra row is
counted but never written.

Every piece of SQL text comes from the read model or from here; values (ids, limits,
cursors' keys, filters, even aliases) are bound parameters, each cast to its type.

A tagged plan (for the answer cache) says what its answer was built from: every object
of a tracked type starts with a marker `\\x01Product:41\\x02` (control characters never
occur raw in JSON text), which `untag` collects and removes; and the plan lists the list
tags of the lists it reads (`list:Product`, `list:Product@stock`: see `gateway.cache.answers`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from gateway.reads.model import MODEL, Field, Model, Relation, Sort, Type
from gateway.reads.shape import (
    Caller,
    Connection,
    Constant,
    Cursor,
    Edges,
    Entities,
    Envelope,
    Items,
    Key,
    Listing,
    Lookup,
    Many,
    Node,
    One,
    PageInfo,
    PageInfoField,
    Query,
    Root,
    Scalar,
    Slot,
    TotalCount,
    Window,
)

Form = Literal["object", "single"]

_KEY_TYPES = {
    "id": "bigint",
    "int": "integer",
    "decimal": "numeric",
    "text": "text",
    "timestamp": "timestamptz",
}
_MAX_CONCAT = 100  # PostgreSQL's limit on a function's arguments
DEFAULT_PLANS = 2000
TRACKED = frozenset({"Product", "Category", "Tag", "User", "Review"})
"""The types whose objects an answer's tags name one by one (the others are read only by
their owner's rules, and such answers are never shared)."""
_MARK = re.compile(rb"\x01([A-Za-z]+):(\d+)\x02")


def untag(raw: bytes) -> tuple[bytes, frozenset[str]]:
    """A tagged plan's output without its markers, and the entity tags they named (each
    object's `Type:id`, and `Type:*` for every type seen)."""
    found = _MARK.findall(raw)
    if not found:
        return raw, frozenset()
    tags = {f"{kind.decode()}:{number.decode()}" for kind, number in found}
    tags.update(f"{kind.decode()}:*" for kind in {kind for kind, _ in found})
    return _MARK.sub(b"", raw), frozenset(tags)


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled read: its SQL, the slots bound as `$1..$n`, and what it depends on."""

    sql: str
    params: tuple[str, ...]
    tables: frozenset[str]
    lookups: tuple[int, ...] = ()
    """For an object form: the roots (by position) whose null flags follow the data column."""
    per_user: bool = False
    """It reads through a visibility rule: its answer belongs to one caller."""
    lists: bool = False
    """A root is a list (entries of lists live shorter in the cache)."""
    primary: bool = False
    """It reads a type that must come from the primary, never from a replica."""
    tagged: bool = False
    """Its output carries entity markers (`untag`)."""
    tags: frozenset[str] = frozenset()
    """The list tags of the lists it reads, known from its shape alone."""

    def args(self, values: dict[str, object]) -> tuple[object, ...]:
        return tuple(values[name] for name in self.params)


def compile_query(
    query: Query, form: Form = "object", model: Model = MODEL, *, tagged: bool = False
) -> Plan:
    """The statement answering `query`.

    Object form (GraphQL's `data`): one row, the roots as one JSON object, then one
    boolean per Lookup root saying it found nothing. Single form (REST): the one root's
    JSON (NULL when a Lookup finds nothing or a Listing's parent is absent) and, for a
    listing, the next page's cursor.
    """
    compiler = _Compiler(model, query.caller, tagged=tagged)
    if form == "single":
        (root,) = query.roots
        if isinstance(root, Listing):
            sql = compiler.listing_statement(root)
        elif isinstance(root, Lookup):
            sql = f"SELECT {compiler.lookup(root)} AS body"
        else:
            raise ValueError("a single read needs a lookup or a listing")
        lookups: tuple[int, ...] = ()
    else:
        sql, lookups = compiler.object_statement(query.roots)
    return Plan(
        sql=sql,
        params=tuple(compiler.params),
        tables=frozenset(compiler.tables),
        lookups=lookups,
        per_user=compiler.per_user,
        lists=any(isinstance(root, Listing) for root in query.roots),
        primary=compiler.primary,
        tagged=tagged,
        tags=frozenset(compiler.list_tags),
    )


class Planner:
    """This process's plans, by shape, least recently used first out."""

    def __init__(self, model: Model = MODEL, *, max_plans: int = DEFAULT_PLANS) -> None:
        self.model = model
        self.max_plans = max_plans
        self.compiled = 0
        self._plans: OrderedDict[Hashable, tuple[Plan, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._plans)

    def plan(
        self, query: Query, form: Form, *, key: Hashable | None = None, tagged: bool = False
    ) -> tuple[Plan, str]:
        """The plan of `query` and its digest (stable across processes, for cache keys).

        `key`, when given, stands for the query's shape (a caller that knows it saves
        hashing the whole tree). `tagged`: a plan whose answer may be cached (`untag`); an
        answer read by a caller's own rules is never shared, so its plan is never tagged
        (`Plan.tagged` says which it is)."""
        key = (query, form, tagged) if key is None else (key, form, tagged)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        plan = compile_query(query, form, self.model, tagged=tagged)
        if plan.tagged and plan.per_user:
            plan = compile_query(query, form, self.model)
        digest = hashlib.blake2b(plan.sql.encode(), digest_size=12).hexdigest()
        self.compiled += 1
        self._plans[key] = (plan, digest)
        while len(self._plans) > self.max_plans:
            self._plans.popitem(last=False)
        return plan, digest


def sort_order(owner: Type, sort: Sort, descending: bool, alias: str) -> str:
    """ORDER BY of a sort: its key, then the id breaking ties, in one direction."""
    direction = " DESC" if descending else ""
    key = _fill(sort.sql, t=alias)
    if sort.kind == "id":
        return f"{key}{direction}"
    return f"{key}{direction}, {alias}.id{direction}"


def keyset(sort: Sort, descending: bool, alias: str, after: Sequence[str]) -> str:
    """The condition of rows after a position, given as bound SQL for (key, id) or (id,)."""
    op = "<" if descending else ">"
    key = _fill(sort.sql, t=alias)
    if sort.kind == "id":
        return f"{key} {op} {after[-1]}"
    return f"({key}, {alias}.id) {op} ({after[0]}, {after[1]})"


def key_types(sort: Sort) -> tuple[str, ...]:
    """The SQL types of a keyset position of `sort`: (id,) or (key, id)."""
    if sort.kind == "id":
        return ("bigint",)
    return (_KEY_TYPES[sort.kind], "bigint")


def cursor_sql(owner: Type, sort: Sort, descending: bool, alias: str) -> str:
    """The cursor of `alias`'s row in `sort`, as the pagination module mints it in Python."""
    tag = f"{owner.cursor}:{'-' if descending else ''}{sort.field}"
    key = _fill(sort.sql, t=alias)
    if sort.kind == "id":
        values = f"{alias}.id"
    elif sort.kind == "int":
        values = f"{key}, {alias}.id"
    elif sort.kind == "timestamp":
        values = f"gateway_time({key}), {alias}.id"
    elif sort.kind == "decimal":
        values = f"({key})::text, {alias}.id"
    else:
        values = f"{key}, {alias}.id"
    return f"gateway_cursor(json_build_array({_literal(tag)}, {values})::text)"


def _fill(template: str, **names: str) -> str:
    for name, value in names.items():
        template = template.replace("{" + name + "}", value)
    return template


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(sql: str) -> str:
    """A JSON string from SQL text that needs no escaping (digits, timestamps, enums)."""
    return f"'\"' || {sql} || '\"'"


class _Parts:
    """Pieces of JSON text: SQL literals (merged as they come) and SQL expressions."""

    def __init__(self) -> None:
        self._items: list[tuple[bool, str]] = []

    def text(self, value: str) -> None:
        if self._items and self._items[-1][0]:
            self._items[-1] = (True, self._items[-1][1] + value)
        else:
            self._items.append((True, value))

    def sql(self, expression: str) -> None:
        self._items.append((False, expression))

    def build(self) -> str:
        items = [_literal(v) if literal else v for literal, v in self._items]
        return items[0] if len(items) == 1 else _concat(items)


def _concat(items: list[str]) -> str:
    while len(items) > _MAX_CONCAT:
        items = [
            f"concat({', '.join(items[i : i + _MAX_CONCAT])})"
            for i in range(0, len(items), _MAX_CONCAT)
        ]
    return f"concat({', '.join(items)})"


def _numbered(output: Items | Connection | Envelope) -> bool:
    """Whether a paged list must tell that another page follows (one row more, numbered)."""
    if isinstance(output, Envelope):
        return True
    if isinstance(output, Items):
        return False
    return any(
        isinstance(member, PageInfo)
        and any(
            isinstance(f, PageInfoField) and f.field != "hasPreviousPage" for f in member.members
        )
        for member in output.members
    )


def _wants_total(output: Items | Connection | Envelope) -> bool:
    if isinstance(output, Envelope):
        return output.total
    if isinstance(output, Items):
        return False
    return any(isinstance(member, TotalCount) for member in output.members)


def _reads_rows(output: Items | Connection | Envelope) -> bool:
    """Whether a list's JSON reads its rows: not a connection asked only for its
    totalCount, say."""
    if not isinstance(output, Connection):
        return True
    return any(
        isinstance(member, Edges)
        or (
            isinstance(member, PageInfo)
            and any(
                isinstance(f, PageInfoField) and f.field != "hasPreviousPage"
                for f in member.members
            )
        )
        for member in output.members
    )


def _json_string(value: str) -> str:
    """A constant JSON string (type names: letters only)."""
    return f'"{value}"'


@dataclass(frozen=True, slots=True)
class _Rows:
    """A window of rows as a FROM item, aliased `alias`; `numbered` rows carry `_n`."""

    sql: str
    alias: str
    numbered: bool


class _Compiler:
    def __init__(self, model: Model, caller: Caller, *, tagged: bool = False) -> None:
        self.model = model
        self.caller = caller
        self.tagged = tagged
        self.list_tags: set[str] = set()
        self.params: list[str] = []
        self._numbers: dict[str, int] = {}
        self.tables: set[str] = set()
        self.per_user = False
        self.primary = False
        self._names: Iterator[int] = itertools.count()

    # -- values and names -------------------------------------------------------------

    def bind(self, slot: Slot) -> str:
        number = self._numbers.get(slot.name)
        if number is None:
            self.params.append(slot.name)
            number = self._numbers[slot.name] = len(self.params)
        return f"${number}::{slot.type}"

    def alias(self) -> str:
        return f"t{next(self._names)}"

    def user(self) -> str:
        """The caller's id as bound SQL."""
        if self.caller != "user" and self.caller != "admin":
            raise ValueError("only a signed-in caller has an id")
        return self.bind(Slot("user", "bigint"))

    def owned(self, owner: str, t: str) -> str | None:
        """The condition of a visibility rule on `t` for this caller: none for an admin."""
        self.per_user = True
        if self.caller == "admin":
            return None
        if self.caller == "anonymous":
            return "FALSE"
        return f"{_fill(owner, t=t)} = {self.user()}"

    def key(self, parts: _Parts, key: Key, first: bool) -> None:
        if not first:
            parts.text(",")
        if isinstance(key, Slot):
            parts.sql(self.bind(key))
        else:
            parts.text(f'"{key}":')

    def read(self, owner: Type) -> None:
        self.tables.add(owner.table)
        self.tables.update(owner.tables)
        self.primary = self.primary or owner.primary

    # -- statements ---------------------------------------------------------------------

    def object_statement(self, roots: Sequence[Root]) -> tuple[str, tuple[int, ...]]:
        parts = _Parts()
        parts.text("{")
        sources: list[str] = []
        flags: list[str] = []
        lookups: list[int] = []
        for index, root in enumerate(roots):
            self.key(parts, root.key, index == 0)
            if isinstance(root, Constant):
                parts.text(_json_string(root.value))
                continue
            name = f"r{index}"
            if isinstance(root, Lookup):
                sources.append(f"(SELECT {self.lookup(root)} AS v) {name}")
                parts.sql(f"coalesce({name}.v, 'null')")
                flags.append(f"{name}.v IS NULL")
                lookups.append(index)
            elif isinstance(root, Entities):
                sources.append(f"(SELECT {self.entities(root)} AS v) {name}")
                parts.sql(f"{name}.v")
            else:
                sources.append(f"(SELECT {self.listing(root)} AS v) {name}")
                parts.sql(f"{name}.v")
        parts.text("}")
        columns = ", ".join([f"{parts.build()} AS data", *flags])
        where = f" FROM {', '.join(sources)}" if sources else ""
        return f"SELECT {columns}{where}", tuple(lookups)

    def lookup(self, root: Lookup) -> str:
        owner = self.model[root.type]
        self.read(owner)
        t = self.alias()
        names = {"t": t}
        if root.value is not None:
            names["v"] = self.bind(root.value)
        if "{user}" in root.by:
            names["user"] = self.user()
        conditions = [_fill(root.by, **names)]
        if owner.owner:
            rule = self.owned(owner.owner, t)
            if rule is not None:
                conditions.append(rule)
        return (
            f"(SELECT {self.node(root.node, t)} FROM {owner.table} {t}"
            f" WHERE {' AND '.join(conditions)})"
        )

    def entities(self, root: Entities) -> str:
        """Rows by (type, id) as one JSON array in the order asked, null where absent: the
        pairs become rows (`unnest ... WITH ORDINALITY`), and each type's table is joined
        by its key where a pair names that type, so N keys are one set-based read."""
        r = self.alias()
        pairs = f"unnest({self.bind(root.types)}, {self.bind(root.ids)})"
        joins: list[str] = []
        cases: list[str] = []
        for node in root.nodes:
            owner = self.model[node.type]
            self.read(owner)
            t = self.alias()
            key = _fill(owner.key, t=t)
            conditions = [f"{r}.type = {_literal(owner.name)}", f"{key} = {r}.id"]
            if owner.owner:
                rule = self.owned(owner.owner, t)
                if rule is not None:
                    conditions.append(rule)
            joins.append(f" LEFT JOIN {owner.table} {t} ON {' AND '.join(conditions)}")
            cases.append(f" WHEN {key} IS NOT NULL THEN {self.node(node, t)}")
        value = f"CASE{''.join(cases)} ELSE 'null' END" if cases else "'null'"
        return (
            f"(SELECT '[' || coalesce(string_agg({value}, ',' ORDER BY {r}.n), '') || ']'"
            f" FROM {pairs} WITH ORDINALITY AS {r}(type, id, n){''.join(joins)})"
        )

    def listing(self, root: Listing) -> str:
        """A root listing as one JSON value (a GraphQL connection)."""
        if root.parent is not None:
            raise ValueError("a listing under a parent is a single read")
        owner = self.model[root.type]
        self.tag_list(owner, root.window)
        total = self.root_total(owner, root.window) if _wants_total(root.output) else ""
        if not _reads_rows(root.output):
            assert isinstance(root.output, Connection)
            return f"(SELECT {self.connection(owner, root.window, root.output, None, total)})"
        rows = self.root_rows(owner, root.window, _numbered(root.output))
        value, _ = self.aggregate(owner, root.window, root.output, rows, total)
        return f"(SELECT {value} FROM {rows.sql})"

    def listing_statement(self, root: Listing) -> str:
        """A root listing as a REST body, and the next page's cursor as a second column."""
        owner = self.model[root.type]
        numbered = _numbered(root.output)
        wants_total = _wants_total(root.output)
        if root.parent is None:
            self.tag_list(owner, root.window)
            rows = self.root_rows(owner, root.window, numbered)
            total = self.root_total(owner, root.window) if wants_total else ""
            value, cursor = self.aggregate(owner, root.window, root.output, rows, total)
            return f"SELECT {value} AS body, {cursor} AS next_cursor FROM {rows.sql}"
        parent = self.model[root.parent.type]
        self.read(parent)
        p = self.alias()
        relation, _ = self.model.target(parent, root.parent.relation)
        if not relation.owned:
            self.tag_list(owner, root.window, relation.reads)
        rows = self.relation_rows(relation, owner, root.window, p, numbered)
        total = self.relation_total(relation, owner, root.window, p) if wants_total else ""
        value, cursor = self.aggregate(owner, root.window, root.output, rows, total)
        by = _fill(root.parent.by, t=p, v=self.bind(root.parent.value))
        body = "e.body"
        if self.tagged and parent.name in TRACKED:
            # The list is the parent's: its tag goes with the answer.
            body = f"{_literal(chr(1) + parent.name + ':')} || {p}.id::text || chr(2) || e.body"
        return (
            f"SELECT {body} AS body, e.next_cursor FROM {parent.table} {p} CROSS JOIN LATERAL"
            f" (SELECT {value} AS body, {cursor} AS next_cursor FROM {rows.sql}) e WHERE {by}"
        )

    # -- rows ---------------------------------------------------------------------------

    def conditions(self, owner: Type, window: Window, t: str) -> list[str]:
        """Visibility, filters and keyset position of a window over `t`."""
        found = []
        if owner.owner:
            rule = self.owned(owner.owner, t)
            if rule is not None:
                found.append(rule)
        for name, slot in window.filters:
            found.append(_fill(owner.filter(name).sql, t=t, v=self.bind(slot)))
        if window.after:
            sort, descending = owner.sort(window.sort or owner.default_sort)
            found.append(keyset(sort, descending, t, [self.bind(s) for s in window.after]))
        return found

    def root_rows(self, owner: Type, window: Window, numbered: bool) -> _Rows:
        self.read(owner)
        t = self.alias()
        source = f"{owner.table} {t}"
        return self.window_rows(
            owner, window, source, t, self.conditions(owner, window, t), "", numbered
        )

    def root_total(self, owner: Type, window: Window) -> str:
        c = self.alias()
        conditions = self.conditions(owner, Window(filters=window.filters), c)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"(SELECT count(*) FROM {owner.table} {c}{where})::text"

    def relation_source(self, relation: Relation, target: Type, t: str, p: str) -> tuple[str, str]:
        """The FROM item of a relation's rows aliased `t`, and its join condition to `p`."""
        self.read(target)
        names = {"t": t, "p": p}
        source = f"{_fill(relation.source, p=p)} {t}" if relation.source else f"{target.table} {t}"
        if relation.through:
            x = self.alias()
            names["x"] = x
            source += f" JOIN {_fill(relation.through, t=t, x=x)}"
            self.tables.add(relation.through.split()[0])
        return source, _fill(relation.on, **names)

    def relation_rows(
        self, relation: Relation, target: Type, window: Window, p: str, numbered: bool
    ) -> _Rows:
        t = self.alias()
        source, on = self.relation_source(relation, target, t, p)
        conditions = [on, *self.conditions(target, window, t)]
        return self.window_rows(target, window, source, t, conditions, relation.order, numbered)

    def relation_total(self, relation: Relation, target: Type, window: Window, p: str) -> str:
        if relation.total:
            return f"({_fill(relation.total, p=p)})::text"
        c = self.alias()
        source, on = self.relation_source(relation, target, c, p)
        conditions = [on, *self.conditions(target, Window(filters=window.filters), c)]
        return f"(SELECT count(*) FROM {source} WHERE {' AND '.join(conditions)})::text"

    def window_rows(
        self,
        owner: Type,
        window: Window,
        source: str,
        t: str,
        conditions: list[str],
        fixed_order: str,
        numbered: bool,
    ) -> _Rows:
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if window.sort is None and fixed_order:
            order = _fill(fixed_order, t=t)
        else:
            sort, descending = owner.sort(window.sort or owner.default_sort)
            order = sort_order(owner, sort, descending, t)
        select = f"SELECT {t}.* FROM {source}{where} ORDER BY {order}"
        if window.limit is None:
            return _Rows(f"({select}) {t}", t, False)
        limit = self.bind(window.limit)
        if not numbered:
            return _Rows(f"({select} LIMIT {limit}) {t}", t, False)
        # One row more than the page, numbered, so the page can tell that another follows.
        return _Rows(
            f"(SELECT {t}.*, row_number() OVER () AS _n, count(*) OVER () AS _c"
            f" FROM ({select} LIMIT {limit} + 1) {t}) {t}",
            t,
            True,
        )

    # -- JSON ---------------------------------------------------------------------------

    def aggregate(
        self,
        owner: Type,
        window: Window,
        output: Items | Connection | Envelope,
        rows: _Rows,
        total: str,
    ) -> tuple[str, str]:
        """The JSON of a list over `rows`, and the SQL of the next page's cursor ('NULL'
        unless the rows are numbered)."""
        t = rows.alias
        limit = self.bind(window.limit) if window.limit is not None else ""
        within = f" FILTER (WHERE {t}._n <= {limit})" if rows.numbered else ""
        cursor = "NULL"
        if rows.numbered:
            sort, descending = owner.sort(window.sort or owner.default_sort)
            last = f"max({cursor_sql(owner, sort, descending, t)}) FILTER (WHERE {t}._n = {limit})"
            cursor = f"CASE WHEN count(*) > {limit} THEN {last} END"
        if isinstance(output, Items):
            node = self.node(output.node, t)
            return f"'[' || coalesce(string_agg({node}, ','){within}, '') || ']'", cursor
        if isinstance(output, Envelope):
            parts = _Parts()
            parts.text('{"data":[')
            parts.sql(f"coalesce(string_agg({self.node(output.node, t)}, ','){within}, '')")
            parts.text('],"page":{"limit":')
            parts.sql(f"({limit})::text")
            parts.text(',"next_cursor":')
            parts.sql(f"coalesce({_quoted(cursor)}, 'null')")
            if output.total:
                parts.text(',"total":')
                parts.sql(total)
            parts.text("}}")
            return parts.build(), cursor
        return self.connection(owner, window, output, rows, total), cursor

    def connection(
        self, owner: Type, window: Window, output: Connection, rows: _Rows | None, total: str
    ) -> str:
        """A connection's JSON over `rows` (None when it reads none, see `_reads_rows`)."""
        sort, descending = owner.sort(window.sort or owner.default_sort)
        parts = _Parts()
        parts.text("{")
        for index, member in enumerate(output.members):
            self.key(parts, member.key, index == 0)
            if isinstance(member, Constant):
                parts.text(_json_string(member.value))
            elif isinstance(member, TotalCount):
                parts.sql(total)
            elif isinstance(member, Edges):
                assert rows is not None
                edge = self.edge(owner, sort, descending, member, rows.alias)
                parts.text("[")
                parts.sql(f"coalesce(string_agg({edge}, ','){self.within(window, rows)}, '')")
                parts.text("]")
            else:
                parts.sql(self.page_info(owner, sort, descending, member, window, rows))
        parts.text("}")
        return parts.build()

    def edge(self, owner: Type, sort: Sort, descending: bool, edges: Edges, t: str) -> str:
        parts = _Parts()
        parts.text("{")
        for index, member in enumerate(edges.members):
            self.key(parts, member.key, index == 0)
            if isinstance(member, Constant):
                parts.text(_json_string(member.value))
            elif isinstance(member, Cursor):
                parts.sql(_quoted(cursor_sql(owner, sort, descending, t)))
            else:
                parts.sql(self.node(member.node, t))
        parts.text("}")
        return parts.build()

    def within(self, window: Window, rows: _Rows) -> str:
        """The aggregate FILTER that leaves a numbered page's extra row out."""
        if not rows.numbered or window.limit is None:
            return ""
        return f" FILTER (WHERE {rows.alias}._n <= {self.bind(window.limit)})"

    def page_info(
        self,
        owner: Type,
        sort: Sort,
        descending: bool,
        info: PageInfo,
        window: Window,
        rows: _Rows | None,
    ) -> str:
        parts = _Parts()
        parts.text("{")
        for index, member in enumerate(info.members):
            self.key(parts, member.key, index == 0)
            if isinstance(member, Constant):
                parts.text(_json_string(member.value))
            elif member.field == "hasPreviousPage":
                parts.text("false")
            else:
                assert rows is not None
                assert window.limit is not None
                t, limit = rows.alias, self.bind(window.limit)
                if member.field == "hasNextPage":
                    parts.sql(f"(count(*) > {limit})::text")
                    continue
                at = "1" if member.field == "startCursor" else f"least({t}._c, {limit})"
                cursor = cursor_sql(owner, sort, descending, t)
                found = f"max({cursor}) FILTER (WHERE {t}._n = {at})"
                parts.sql(f"coalesce({_quoted(found)}, 'null')")
        parts.text("}")
        return parts.build()

    def tag_list(self, owner: Type, window: Window, relation: tuple[str, ...] = ()) -> None:
        """Note the list tags of a list of `owner` read through `window` (and a relation
        whose membership reads `relation`): `list:<Type>` (rows made or deleted), and
        `list:<Type>@<name>` for what its filters, its sort and the relation read."""
        if not self.tagged or owner.name not in TRACKED:
            return
        self.list_tags.add(f"list:{owner.name}")
        reads = [relation, *(owner.filter(name).reads for name, _ in window.filters)]
        if owner.sorts:
            reads.append(owner.sort(window.sort or owner.default_sort)[0].reads)
        self.list_tags.update(f"list:{owner.name}@{r}" for group in reads for r in group)

    def node(self, node: Node, t: str) -> str:
        owner = self.model[node.type]
        parts = _Parts()
        if self.tagged and owner.name in TRACKED:
            parts.text(f"\x01{owner.name}:")
            parts.sql(f"{t}.id::text")
            parts.text("\x02")
        parts.text("{")
        for index, member in enumerate(node.members):
            self.key(parts, member.key, index == 0)
            if isinstance(member, Constant):
                parts.text(_json_string(member.value))
            elif isinstance(member, Scalar):
                parts.sql(self.scalar(owner.field(member.field), node, t))
            elif isinstance(member, One):
                parts.sql(self.one(owner, member, t))
            else:
                parts.sql(self.many(owner, member, t))
        parts.text("}")
        return parts.build()

    def scalar(self, field: Field, node: Node, t: str) -> str:
        expression = _fill(field.sql, t=t)
        graphql = node.style == "graphql"
        kind = field.kind
        if kind == "id":
            value = _quoted(f"({expression})::text") if graphql else f"({expression})::text"
        elif kind in ("int", "bool"):
            value = f"({expression})::text"
        elif kind == "text":
            value = f"to_json({expression})::text"
        elif kind == "decimal":
            value = f"gateway_number({expression})"
        elif kind == "time":
            value = _quoted(f"gateway_time({expression})")
        elif graphql:
            value = f"to_json(upper({expression}))::text"
        else:
            value = f"to_json({expression})::text"
        if field.owner:
            rule = self.owned(field.owner, t)
            if rule is not None:
                return f"CASE WHEN {rule} THEN {value} ELSE 'null' END"
        return f"coalesce({value}, 'null')" if field.nullable else value

    def one(self, owner: Type, member: One, p: str) -> str:
        relation, target = self.model.target(owner, member.relation)
        t = self.alias()
        source, on = self.relation_source(relation, target, t, p)
        conditions = [on]
        if target.owner:
            rule = self.owned(target.owner, t)
            if rule is not None:
                conditions.append(rule)
        found = (
            f"(SELECT {self.node(member.node, t)} FROM {source} WHERE {' AND '.join(conditions)})"
        )
        return f"coalesce({found}, 'null')"

    def many(self, owner: Type, member: Many, p: str) -> str:
        relation, target = self.model.target(owner, member.relation)
        if not relation.owned:
            self.tag_list(target, member.window, relation.reads)
        total = ""
        if _wants_total(member.output):
            total = self.relation_total(relation, target, member.window, p)
        if not _reads_rows(member.output):
            assert isinstance(member.output, Connection)
            return f"(SELECT {self.connection(target, member.window, member.output, None, total)})"
        rows = self.relation_rows(relation, target, member.window, p, _numbered(member.output))
        value, _ = self.aggregate(target, member.window, member.output, rows, total)
        return f"(SELECT {value} FROM {rows.sql})"
