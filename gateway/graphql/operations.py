"""What a GraphQL document asks for before it runs: its operation type and root fields."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """The operation a request will run."""

    kind: str  # query, mutation or subscription
    name: str | None
    root_fields: tuple[str, ...]  # one entry per field as executed: aliases count separately


def select(document: DocumentNode, operation_name: str | None) -> Operation | None:
    """The operation `operation_name` picks (the only one when None); None if it is ambiguous."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        chosen = operations[0] if len(operations) == 1 else None
    else:
        chosen = next((o for o in operations if o.name and o.name.value == operation_name), None)
    if chosen is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fields = _fields(chosen.selection_set, fragments, set())
    name = chosen.name.value if chosen.name else None
    return Operation(kind=chosen.operation.value, name=name, root_fields=tuple(fields))


def _fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: set[str],
) -> list[str]:
    found: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            found += _fields(selection.selection_set, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # Unknown or cyclic fragments are left to validation to reject.
            if fragment is not None and name not in visiting:
                found += _fields(fragment.selection_set, fragments, visiting | {name})
    return found
