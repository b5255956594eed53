"""Protection before execution: the limits a document must meet before any resolver runs.

Static limits depend on the document alone (token cap, depth, aliases, root fields,
introspection), so their verdict is cached with the parse (documents.py). The limits
that read variables (cost, page sizes) run on every request, on the chosen operation.
Every refusal is a validation error carrying its code, so no SQL ever runs for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from ariadne.validation.query_cost import CostValidator
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    is_object_type,
    parse,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from gateway.errors import InvalidParameter
from gateway.graphql.errors import (
    IntrospectionDisabled,
    QueryTooComplex,
    QueryTooDeep,
    QueryTooLarge,
    TooManyAliases,
    TooManyRootFields,
    refusal,
)
from gateway.reads.pagination import MAX_LIMIT
from gateway.settings import Settings

_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
_TOO_MANY_TOKENS = "Document contains more than"


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """The limits of DESIGN §8 for GraphQL documents."""

    max_tokens: int = 15_000
    max_depth: int = 10
    max_aliases: int = 30
    max_root_fields: int = 20
    max_cost: int = 1000
    max_errors: int = 10
    introspection: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_tokens=settings.graphql_max_tokens,
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_root_fields=settings.graphql_max_root_fields,
            max_cost=settings.graphql_max_cost,
            max_errors=settings.graphql_max_errors,
            introspection=not settings.production,
        )

    def static_key(self) -> tuple[int, int, int, int, int, bool]:
        """Every limit a document-only verdict depends on (part of the parse cache key)."""
        static = (self.max_tokens, self.max_depth, self.max_aliases, self.max_root_fields)
        return (*static, self.max_errors, self.introspection)


def parse_document(text: str, limits: Limits) -> DocumentNode:
    """Parse with the token cap: the parser stops reading at the cap (QueryTooLarge)."""
    try:
        return parse(text, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        if _TOO_MANY_TOKENS in error.message:
            detail = f"The document has more than {limits.max_tokens} tokens."
            raise refusal(QueryTooLarge(detail)) from None
        raise


def static_rules(limits: Limits) -> tuple[type[ValidationRule], ...]:
    """The document-only rules for `limits`, run after graphql-core's own."""

    class Shape(_ShapeRule):
        max_depth = limits.max_depth
        max_aliases = limits.max_aliases
        max_root_fields = limits.max_root_fields

    return (Shape,) if limits.introspection else (Shape, _NoIntrospection)


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> VariableValues | list[GraphQLError]:
    """The operation's variables coerced with their defaults, as execution will, or errors."""
    return get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {}), 50, True
    )


# Variables of these types cannot change a cost or a page size (both read `first`, an Int,
# and @include/@skip read Booleans), so the limits' verdict does not depend on them.
_NEUTRAL_TYPES = frozenset({"ID", "String"})


def limits_key(operation: OperationDefinitionNode, values: VariableValues) -> bytes:
    """What the limits' verdict on `operation` can depend on among its coerced variables:
    equal keys, equal verdicts (ids and strings left out, so one product's page and
    another's share one verdict)."""
    relevant = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if _named_type(definition.type) not in _NEUTRAL_TYPES and name in values.coerced:
            relevant[name] = values.coerced[name]
    return orjson.dumps(relevant, option=orjson.OPT_SORT_KEYS, default=repr)


def _named_type(node: TypeNode) -> str:
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def check_limits(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    values: VariableValues,
    limits: Limits,
    costs: dict[str, dict[str, Any]],
) -> list[GraphQLError]:
    """Errors of the cost and page-size limits for `operation` with coerced `values`."""
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    chosen = DocumentNode(definitions=(operation, *fragments))

    class Cost(_CostRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(
                context,
                maximum_cost=limits.max_cost,
                variables=values.coerced,
                cost_map=costs,
            )

    class PageSizes(_PageSizeRule):
        variable_values = values

    return validate(schema, chosen, (Cost, PageSizes), hide_suggestions=True)


def cost_map(schema: GraphQLSchema) -> dict[str, dict[str, Any]]:
    """The cost of every field: about one per object the response may hold.

    A field returning objects costs 1 per object, multiplied by the `first` of every
    connection around it; a connection costs its `first`; its edges, nodes and pageInfo
    are free (the connection paid for them); `totalCount` is one batched query; scalars
    are free. Federation's `_entities` costs one per representation, multiplying what
    each entity selects.
    """
    costs: dict[str, dict[str, Any]] = {}
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        wrapper = graphql_type.name.endswith(("Connection", "Edge"))
        fields: dict[str, Any] = {}
        for name, field in graphql_type.fields.items():
            if "first" in field.args:
                fields[name] = {"complexity": 1, "multipliers": ["first"]}
            elif "representations" in field.args:
                fields[name] = {"complexity": 1, "multipliers": ["representations"]}
            elif name == "totalCount":
                fields[name] = {"complexity": 1, "use_multipliers": False}
            elif not wrapper and is_object_type(get_named_type(field.type)):
                fields[name] = {"complexity": 1}
        if fields:
            costs[graphql_type.name] = fields
    return costs


class _ShapeRule(ValidationRule):
    """Depth, aliases and root fields of every operation, counted through fragments."""

    max_depth: int
    max_aliases: int
    max_root_fields: int

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        shape = _Shape(self.context)
        try:
            depth = shape.depth(node.selection_set)
            aliases = shape.aliases(node.selection_set)
            roots = shape.roots(node.selection_set)
        except RecursionError:
            self.report_error(refusal(QueryTooDeep("The operation is nested too deeply."), node))
            return
        if depth > self.max_depth:
            detail = f"The operation is {depth} levels deep; the limit is {self.max_depth}."
            self.report_error(refusal(QueryTooDeep(detail), node))
        if aliases > self.max_aliases:
            detail = f"The operation uses {aliases} aliases; the limit is {self.max_aliases}."
            self.report_error(refusal(TooManyAliases(detail), node))
        if roots > self.max_root_fields:
            detail = (
                f"The operation selects {roots} top-level fields; "
                f"the limit is {self.max_root_fields}."
            )
            self.report_error(refusal(TooManyRootFields(detail), node))


class _Shape:
    """Measures selection sets, each fragment once (memoized), cycles counted as nothing
    (graphql-core's NoFragmentCycles rule rejects them)."""

    def __init__(self, context: ValidationContext) -> None:
        self._context = context
        self._memo: dict[tuple[str, str], int] = {}
        self._visiting: set[tuple[str, str]] = set()

    def depth(self, selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                # Introspection is allowed deep (GraphiQL's own query nests 9 levels);
                # production turns it off altogether.
                if selection.name.value in _INTROSPECTION_ROOTS:
                    continue
                below = self.depth(selection.selection_set) if selection.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment("depth", selection.name.value))
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1 if selection.alias else 0
                if selection.selection_set:
                    count += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self._fragment("aliases", selection.name.value)
        return count

    def roots(self, selection_set: SelectionSetNode) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1
            elif isinstance(selection, InlineFragmentNode):
                count += self.roots(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self._fragment("roots", selection.name.value)
        return count

    def _fragment(self, measure: str, name: str) -> int:
        key = (measure, name)
        if key in self._memo:
            return self._memo[key]
        fragment = self._context.get_fragment(name)
        if fragment is None or key in self._visiting:
            return 0
        self._visiting.add(key)
        try:
            value: int = getattr(self, measure)(fragment.selection_set)
        finally:
            self._visiting.discard(key)
        self._memo[key] = value
        return value


class _NoIntrospection(ValidationRule):
    """Production: no __schema or __type (__typename stays: clients need it)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in _INTROSPECTION_ROOTS:
            detail = "Introspection is disabled on this server."
            self.report_error(refusal(IntrospectionDisabled(detail), node))


class _CostRule(CostValidator):
    """Ariadne's cost analysis, refusing with QUERY_TOO_COMPLEX."""

    def get_multipliers_from_string(
        self, multipliers: list[str], field_args: dict[str, Any]
    ) -> list[int]:
        # A list argument multiplies by its length (`representations`: one object each);
        # Ariadne's own reading takes only numbers and would drop it.
        sized = {k: len(v) if isinstance(v, list) else v for k, v in field_args.items()}
        found: list[int] = super().get_multipliers_from_string(multipliers, sized)
        return found

    def get_cost_exceeded_error(self) -> GraphQLError:
        detail = f"The operation may cost {self.cost}; the limit is {self.maximum_cost}."
        error = refusal(QueryTooComplex(detail))
        error.extensions = {"cost": {"requested": self.cost, "maximum": self.maximum_cost}}
        return error


class _PageSizeRule(ValidationRule):
    """Every `first` within 1..MAX_LIMIT (null refused) before anything runs, whether
    literal, variable or default."""

    variable_values: VariableValues

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        field = self.context.get_field_def()
        if field is None or "first" not in field.args:
            return
        try:
            first = get_argument_values(field, node, self.variable_values).get("first")
        except GraphQLError:
            return  # a bad value: execution reports it before any resolver runs
        # An explicit null is as wrong as 0: the schema's default applies only when omitted.
        if first is None or (isinstance(first, int) and not 1 <= first <= MAX_LIMIT):
            error = InvalidParameter("first", f"must be between 1 and {MAX_LIMIT}")
            self.report_error(refusal(error, node))
