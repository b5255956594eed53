"""Queries the read model covers, answered by one planned statement instead of the executor.

Over 400 lines: one recursive walk mapping a GraphQL document onto the read model.

A query operation whose every selected field the model covers (aliases, fragments, inline
fragments, `@include`/`@skip`, `__typename`, connections with edges, cursors, pageInfo and
totalCount) becomes a selection tree (`gateway.reads.shape`) and runs as ONE statement;
graphql-core's executor is skipped. So does a federation gateway's `_entities` query, for
all its representations at once. Anything else (introspection, a refused argument, a
caller a field would refuse) returns None here and runs through the resolvers, which stay
the reference: the answer is the same either way, byte for byte.

Per document and operation (and the values of the variables its directives read) the
walk over the document is done once: it yields the argument sites (the fields whose
arguments decide a list's window or a lookup's key) and the aliases. A request then only
evaluates its sites, and requests whose sites agree in shape share one plan.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_non_null_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from gateway.errors import GatewayError, InvalidParameter, NotFound, Unauthenticated
from gateway.graphql.errors import capped, format_error
from gateway.graphql.federation import entity_key
from gateway.ids import parse_id
from gateway.principal import Principal
from gateway.reads import positions
from gateway.reads.model import MODEL, Type
from gateway.reads.shape import (
    Caller,
    Connection,
    Constant,
    Cursor,
    EdgeNode,
    Edges,
    Entities,
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
from gateway.services import plans
from gateway.services.accounts import BAD_CREDENTIALS
from gateway.services.product_lists import check_filter
from gateway.services.resources import Resources
from gateway.services.tags import hyphenated

DEFAULT_TEMPLATES = 1000
_CONNECTIONS = {
    "ProductConnection": "Product",
    "CategoryConnection": "Category",
    "TagConnection": "Tag",
    "ReviewConnection": "Review",
    "OrderConnection": "Order",
}
_PAGE_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")


class Uncovered(Exception):
    """The operation, or this request's arguments, leave the planner: the executor runs it."""


Part = Window | tuple[str, Slot | None]
"""What a site decides about the shape: a list's window, or a lookup's condition and key."""


@dataclass(frozen=True, slots=True)
class Site:
    """A field whose arguments decide a list's window or a lookup's key."""

    index: int
    kind: str
    """`lookup:<root field>`, `list:<type>` (a root list), `many:<type>.<relation>` or
    `entities` (federation's `_entities`)."""
    definition: GraphQLField
    node: FieldNode

    def evaluate(self, variables: VariableValues | None) -> tuple[Part, dict[str, Any]]:
        """The shape this request's arguments give, and their values; Uncovered when an
        argument is refused (the executor then reports it exactly as it always has)."""
        try:
            arguments = get_argument_values(self.definition, self.node, variables)
            if self.kind.startswith("lookup:"):
                return _lookup_part(self.index, self.kind[7:], arguments)
            if self.kind == "entities":
                union = get_named_type(self.definition.type)
                names = tuple(t.name for t in getattr(union, "types", ()))
                return _entities_part(self.index, names, arguments["representations"])
            owner, _, relation = self.kind.partition(":")[2].partition(".")
            return _window_part(self.index, owner, relation, arguments)
        except (GatewayError, GraphQLError, ValueError, TypeError) as exc:
            raise Uncovered(str(exc)) from None


@dataclass(slots=True)
class Template:
    """One operation, walked once: its sites, aliases and the plans its shapes need."""

    document: DocumentNode
    operation: OperationDefinitionNode
    directives: Mapping[str, bool]
    caller: Caller
    sites: list[Site] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    roots: list[tuple[Key, str, list[FieldNode]]] = field(default_factory=list)
    """Every root: its response key, field name and nodes (errors point at them)."""
    queries: dict[tuple[Part, ...], Query] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bound:
    """A request ready to run: its template, tree and values, and a key that stands for the
    tree's shape (the document, caller, directives and the sites' parts)."""

    template: Template
    query: Query
    values: dict[str, Any]
    key: Hashable


class PlannedQueries:
    """Decides which queries the planner answers and answers them, for one schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_errors: int = 10,
        max_templates: int = DEFAULT_TEMPLATES,
    ) -> None:
        self.schema = schema
        self.max_errors = max_errors
        self.max_templates = max_templates
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def bind(
        self,
        text: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        principal: Principal,
    ) -> Bound | None:
        """This request as a planned read, or None when the executor must run it."""
        if operation.operation.value != "query":
            return None
        name = operation.name.value if operation.name else None
        caller: Caller = (
            "admin" if principal.admin else "user" if principal.authenticated else "anonymous"
        )
        names = self._remember(
            ("directives", text, name), lambda: _directive_variables(document, operation)
        )
        if names is None:
            return None
        flags = {n: bool(variables.coerced.get(n)) for n in names}
        key = ("template", text, name, caller, tuple(flags.values()))

        def walk() -> Template | None:
            template = Template(document, operation, flags, caller)
            try:
                _Walker(self.schema, template, None).query()
            except Uncovered:
                return None
            return template

        template = self._remember(key, walk)
        if template is None:
            return None
        parts: list[Part] = []
        values = dict(template.constants)
        try:
            for site in template.sites:
                part, found = site.evaluate(variables)
                parts.append(part)
                values.update(found)
        except Uncovered:
            return None
        if caller != "anonymous":
            values["user"] = principal.user_id
        shape = tuple(parts)
        query = template.queries.get(shape)
        if query is None:
            query = _Walker(self.schema, template, shape).query()
            template.queries[shape] = query
        return Bound(template, query, values, (key, shape))

    def _remember(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """The entry under `key`, made on first use; least recently used first out."""
        found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            self._entries.move_to_end(key)
            return found
        found = self._entries[key] = make()
        while len(self._entries) > self.max_templates:
            self._entries.popitem(last=False)
        return found

    async def run(self, resources: Resources, bound: Bound) -> bytes:
        """The response body: `data`, and a NOT_FOUND (or UNAUTHENTICATED) error for each
        root lookup that found nothing, as the resolvers report it."""
        answer = await plans.answer(resources, bound.query, bound.values, key=bound.key)
        if not answer.missing:
            return b'{"data":' + answer.data + b"}"
        errors = []
        for index in answer.missing:
            key, field_name, nodes = bound.template.roots[index]
            error = _absent(field_name, bound, index)
            path = [key if isinstance(key, str) else _alias(bound.values[key.name])]
            errors.append(
                format_error(GraphQLError(error.detail, nodes, path=path, original_error=error))
            )
        listed = orjson.dumps(capped(errors, self.max_errors))
        return b'{"data":' + answer.data + b',"errors":' + listed + b"}"

    def failure(self, bound: Bound, error: GatewayError) -> dict[str, Any]:
        """The result the executor gives when every root's resolver fails with `error`
        (the database is down, say): an error per root field, and `data` null if a
        non-null root failed."""
        query_type = self.schema.query_type
        assert query_type is not None
        data: dict[str, Any] | None = {}
        errors = []
        for (key, name, nodes), root in zip(bound.template.roots, bound.query.roots, strict=True):
            out = key if isinstance(key, str) else _alias(bound.values[key.name])
            if isinstance(root, Constant):
                if data is not None:
                    data[out] = root.value
                continue
            graphql_error = GraphQLError(error.detail, nodes, path=[out], original_error=error)
            errors.append(format_error(graphql_error))
            if data is not None:
                data[out] = None
                if is_non_null_type(query_type.fields[name].type):
                    data = None
        return {"data": data, "errors": capped(errors, self.max_errors)}


_MISSING: Any = object()


def _alias(encoded: str) -> str:
    """The response key inside a bound alias (`"a":`)."""
    text: str = orjson.loads(encoded[:-1])
    return text


def _absent(field_name: str, bound: Bound, index: int) -> GatewayError:
    """What a resolver raises for a root lookup that found nothing."""
    if field_name == "me":
        return Unauthenticated(BAD_CREDENTIALS)
    value = bound.values.get(f"s{_site_of(bound, index)}.v")
    noun = {"product": "Product", "review": "Review", "user": "User", "order": "Order"}
    if field_name == "category":
        return NotFound(f"Category {value} does not exist.")
    return NotFound(f"{noun[field_name]} {value} does not exist.")


def _site_of(bound: Bound, root: int) -> int:
    lookup = bound.query.roots[root]
    assert isinstance(lookup, Lookup)
    assert lookup.value is not None
    return int(lookup.value.name[1:].split(".")[0])


def _directive_variables(
    document: DocumentNode, operation: OperationDefinitionNode
) -> tuple[str, ...] | None:
    """The variables @skip/@include read anywhere in the document, or None if a field or
    fragment carries another directive (the executor handles those)."""
    found: list[str] = []
    nodes: list[Any] = [operation]
    nodes += [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    while nodes:
        node = nodes.pop()
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value not in ("skip", "include"):
                return None
            for argument in directive.arguments:
                if isinstance(argument.value, VariableNode):
                    found.append(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            nodes.extend(selection_set.selections)
    return tuple(sorted(set(found)))


def _lookup_part(index: int, root: str, arguments: dict[str, Any]) -> tuple[Part, dict[str, Any]]:
    slot = f"s{index}.v"
    if root == "me":
        return ("{t}.id = {user}", None), {}
    if root == "category":
        given_id, slug = arguments.get("id"), arguments.get("slug")
        if (given_id is None) == (slug is None):
            raise InvalidParameter("id", "give exactly one of id and slug")
        if given_id is not None:
            return ("{t}.id = {v}", Slot(slot, "bigint")), {slot: parse_id(given_id)}
        hyphenated(str(slug))
        return ("{t}.slug = {v}", Slot(slot, "text")), {slot: slug}
    return ("{t}.id = {v}", Slot(slot, "bigint")), {slot: parse_id(arguments["id"])}


def _entities_part(
    index: int, types: Sequence[str], representations: Sequence[Any]
) -> tuple[Part, dict[str, Any]]:
    """The (type, id) pairs of `_entities`' representations, as two arrays; InvalidParameter
    for a representation the reference resolvers refuse (the executor then reports it)."""
    pairs = [entity_key(representation, types) for representation in representations]
    values = {f"s{index}.types": [t for t, _ in pairs], f"s{index}.ids": [i for _, i in pairs]}
    return ("entities", None), values


def _window_part(
    index: int, owner_name: str, relation: str, arguments: dict[str, Any]
) -> tuple[Part, dict[str, Any]]:
    """A list's window from its GraphQL arguments, checked as the resolvers check them."""
    owner = MODEL[owner_name]
    target = MODEL[owner.relation(relation).target] if relation else owner
    values: dict[str, Any] = {}
    first = arguments.get("first")
    if not isinstance(first, int) or not 1 <= first <= 100:
        raise InvalidParameter("first", "must be between 1 and 100")
    limit = Slot(f"s{index}.limit", "integer")
    values[limit.name] = first
    if "sort" in arguments and arguments["sort"] is None:
        # An explicit null is not the default (which applies only when the argument is
        # omitted): the resolvers refuse it, so the executor reports it.
        raise InvalidParameter("sort", "must not be null")
    sort = arguments.get("sort", target.default_sort)
    filters: list[tuple[str, Slot]] = []
    if "filter" in arguments:
        wanted = check_filter(arguments["filter"])
        if relation and wanted.category is not None:
            raise InvalidParameter("category", "not allowed here: the category is already given")
        for name, value in positions.filter_values(wanted):
            found = target.filter(name)
            slot = Slot(f"s{index}.{name}", found.type)
            filters.append((name, slot))
            values[slot.name] = value
    if "status" in arguments and arguments["status"] is not None:
        slot = Slot(f"s{index}.status", "text")
        filters.append(("status", slot))
        values[slot.name] = arguments["status"]
    after: tuple[Slot, ...] = ()
    if arguments.get("after") is not None:
        found_sort, descending = target.sort(sort)
        position = positions.decode(target, found_sort, descending, arguments["after"])
        after = tuple(
            Slot(f"s{index}.after{i}", t) for i, t in enumerate(positions.types(found_sort))
        )
        values.update({slot.name: value for slot, value in zip(after, position, strict=True)})
    return Window(sort, limit, after, tuple(filters)), values


class _Walker:
    """Turns an operation into a selection tree. With `parts` None it registers the sites
    (a template's first walk) and evaluates nothing; else it takes their parts in order."""

    def __init__(
        self, schema: GraphQLSchema, template: Template, parts: Sequence[Part] | None
    ) -> None:
        self.schema = schema
        self.template = template
        self.parts = parts
        self.fragments = {
            d.name.value: d
            for d in template.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._next_site = 0
        self._next_alias = 0

    def query(self) -> Query:
        query_type = self.schema.query_type
        assert query_type is not None
        roots: list[Root] = []
        first_walk = self.parts is None
        for key, nodes in self.collect(self.template.operation.selection_set, "Query").items():
            name = nodes[0].name.value
            out = self.key(key, name)
            if first_walk:
                self.template.roots.append((out, name, nodes))
            if name == "__typename":
                roots.append(Constant(out, "Query"))
                continue
            definition = query_type.fields.get(name)
            if definition is None:
                raise Uncovered(name)
            roots.append(self.root(out, name, definition, nodes))
        return Query(tuple(roots), self.template.caller)

    def root(self, key: Key, name: str, definition: GraphQLField, nodes: list[FieldNode]) -> Root:
        if name in ("product", "review", "user", "order", "category", "me"):
            if name in ("order", "me") and self.template.caller == "anonymous":
                raise Uncovered("sign-in required")
            type_name = {"me": "Account"}.get(name, name.capitalize())
            by, value = self.site(f"lookup:{name}", definition, nodes)  # type: ignore[misc]
            node = self.node(type_name, nodes)
            return Lookup(key, type_name, by, value, node)
        if name in ("products", "categories", "tags", "orders"):
            if name == "orders" and self.template.caller == "anonymous":
                raise Uncovered("sign-in required")
            type_name = {"products": "Product", "categories": "Category", "tags": "Tag"}.get(
                name, "Order"
            )
            window = self.site(f"list:{type_name}", definition, nodes)
            assert isinstance(window, Window)
            return Listing(key, type_name, window, self.connection(type_name, nodes))
        if name == "_entities":
            return self.entities(key, definition, nodes)
        raise Uncovered(name)

    def entities(self, key: Key, definition: GraphQLField, nodes: list[FieldNode]) -> Entities:
        """Federation's `_entities`: a node for each member of its union, each from the
        selections that apply to it, so any representation's row can be written."""
        union = get_named_type(definition.type)
        index = self._next_site
        self.site("entities", definition, nodes)
        members = []
        for member in getattr(union, "types", ()):
            if member.name not in MODEL.types:
                raise Uncovered(member.name)
            members.append(self.node(member.name, nodes, abstract=union.name))
        types, ids = Slot(f"s{index}.types", "text[]"), Slot(f"s{index}.ids", "bigint[]")
        return Entities(key, tuple(members), types, ids)

    def site(self, kind: str, definition: GraphQLField, nodes: list[FieldNode]) -> Part:
        index = self._next_site
        self._next_site += 1
        if self.parts is None:
            site = Site(index, kind, definition, nodes[0])
            self.template.sites.append(site)
            # The first walk only checks coverage; shapes come from each request's values.
            return _placeholder(kind)
        return self.parts[index]

    def key(self, response_key: str, name: str) -> Key:
        if response_key == name:
            return name
        slot = Slot(f"a{self._next_alias}", "text")
        self._next_alias += 1
        self.template.constants[slot.name] = orjson.dumps(response_key).decode() + ":"
        return slot

    def collect(
        self, selection_set: SelectionSetNode, type_name: str, abstract: str | None = None
    ) -> dict[str, list[FieldNode]]:
        """The fields selected on `type_name`. Within a selection on the union `abstract`,
        fragments on the union apply and fragments on its other members are left out."""
        fields: dict[str, list[FieldNode]] = {}
        self._collect(selection_set, type_name, fields, set(), abstract)
        return fields

    def _collect(
        self,
        selection_set: SelectionSetNode,
        type_name: str,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
        abstract: str | None = None,
    ) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and not self.applies(
                    condition.name.value, type_name, abstract
                ):
                    continue
                self._collect(selection.selection_set, type_name, fields, visited, abstract)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments[name]
                if not self.applies(fragment.type_condition.name.value, type_name, abstract):
                    continue
                self._collect(fragment.selection_set, type_name, fields, visited, abstract)

    @staticmethod
    def applies(condition: str, type_name: str, abstract: str | None) -> bool:
        """Whether a fragment on `condition` applies to `type_name`; False leaves it out
        (another member of the union `abstract`); Uncovered anywhere else."""
        if condition in (type_name, abstract):
            return True
        if abstract is None:
            raise Uncovered("type condition")
        return False

    def included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            (argument,) = directive.arguments
            value = argument.value
            if isinstance(value, BooleanValueNode):
                flag = value.value
            elif isinstance(value, VariableNode):
                flag = self.template.directives[value.name.value]
            else:
                raise Uncovered("directive argument")
            if (directive.name.value == "skip") == flag:
                return False
        return True

    def subfields(
        self, nodes: list[FieldNode], type_name: str, abstract: str | None = None
    ) -> dict[str, list[FieldNode]]:
        merged: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is None:
                raise Uncovered("selection expected")
            for key, found in self.collect(node.selection_set, type_name, abstract).items():
                merged.setdefault(key, []).extend(found)
        return merged

    def node(self, type_name: str, nodes: list[FieldNode], abstract: str | None = None) -> Node:
        owner = MODEL[type_name]
        graphql_type = self.schema.type_map[type_name]
        members: list[Any] = []
        for key, found in self.subfields(nodes, type_name, abstract).items():
            name = found[0].name.value
            out = self.key(key, name)
            if name == "__typename":
                members.append(Constant(out, type_name))
                continue
            members.append(self.member(owner, graphql_type, out, name, found))
        return Node(type_name, "graphql", tuple(members))

    def member(
        self, owner: Type, graphql_type: Any, key: Key, name: str, nodes: list[FieldNode]
    ) -> Any:
        for candidate in owner.fields:
            if candidate.graphql == name:
                return Scalar(key, candidate.name)
        for relation in owner.relations:
            if relation.graphql != name:
                continue
            if not relation.many:
                return One(key, relation.name, self.node(relation.target, nodes))
            if not relation.paged:
                return Many(key, relation.name, Window(), Items(self.node(relation.target, nodes)))
            definition = graphql_type.fields[name]
            window = self.site(f"many:{owner.name}.{relation.name}", definition, nodes)
            assert isinstance(window, Window)
            return Many(key, relation.name, window, self.connection(relation.target, nodes))
        raise Uncovered(f"{owner.name}.{name}")

    def connection(self, type_name: str, nodes: list[FieldNode]) -> Connection:
        connection_type = f"{type_name}Connection"
        edge_type = f"{type_name}Edge"
        members: list[Any] = []
        for key, found in self.subfields(nodes, connection_type).items():
            name = found[0].name.value
            out = self.key(key, name)
            if name == "__typename":
                members.append(Constant(out, connection_type))
            elif name == "totalCount":
                members.append(TotalCount(out))
            elif name == "pageInfo":
                members.append(PageInfo(out, self.page_info(found)))
            elif name == "edges":
                members.append(Edges(out, self.edges(type_name, edge_type, found)))
            else:
                raise Uncovered(f"{connection_type}.{name}")
        return Connection(tuple(members))

    def edges(
        self, type_name: str, edge_type: str, nodes: list[FieldNode]
    ) -> tuple[Cursor | EdgeNode | Constant, ...]:
        members: list[Cursor | EdgeNode | Constant] = []
        for key, found in self.subfields(nodes, edge_type).items():
            name = found[0].name.value
            out = self.key(key, name)
            if name == "__typename":
                members.append(Constant(out, edge_type))
            elif name == "cursor":
                members.append(Cursor(out))
            elif name == "node":
                members.append(EdgeNode(out, self.node(type_name, found)))
            else:
                raise Uncovered(f"{edge_type}.{name}")
        return tuple(members)

    def page_info(self, nodes: list[FieldNode]) -> tuple[PageInfoField | Constant, ...]:
        members: list[PageInfoField | Constant] = []
        for key, found in self.subfields(nodes, "PageInfo").items():
            name = found[0].name.value
            out = self.key(key, name)
            if name == "__typename":
                members.append(Constant(out, "PageInfo"))
            elif name in _PAGE_FIELDS:
                members.append(PageInfoField(out, name))  # type: ignore[arg-type]
            else:
                raise Uncovered(f"PageInfo.{name}")
        return tuple(members)


def _placeholder(kind: str) -> Part:
    if kind.startswith("lookup:"):
        return ("{t}.id = {v}", Slot("placeholder", "bigint"))
    return Window()
