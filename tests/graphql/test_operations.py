"""graphql/operations.py: which operation a request runs, and its root fields as executed
(aliases counted apart, fragments followed, unknown and cyclic fragments left to validation)."""

from __future__ import annotations

from graphql import parse

from gateway.graphql.operations import Operation, select


def test_the_only_operation_is_chosen_without_a_name() -> None:
    document = parse(
        "query Shop { products(first: 1) { totalCount } tags(first: 2) { totalCount } }"
    )
    assert select(document, None) == Operation("query", "Shop", ("products", "tags"))


def test_an_anonymous_shorthand_query_has_no_name() -> None:
    assert select(parse("{ __typename }"), None) == Operation("query", None, ("__typename",))


def test_several_operations_need_a_name_and_the_name_must_exist() -> None:
    document = parse('query A { me { id } } mutation B { logout(refreshToken: "x") { signedOut } }')
    assert select(document, None) is None
    assert select(document, "C") is None
    assert select(document, "B") == Operation("mutation", "B", ("logout",))
    assert select(document, "A") == Operation("query", "A", ("me",))


def test_aliases_count_as_separate_root_fields_under_the_field_name() -> None:
    document = parse('{ a: product(id: "1") { id } b: product(id: "2") { id } me { id } }')
    operation = select(document, None)
    assert operation is not None
    assert operation.root_fields == ("product", "product", "me")


def test_fragments_and_inline_fragments_contribute_their_fields() -> None:
    document = parse(
        """
        query { ...Both ... on Query { me { id } } }
        fragment Both on Query { tags(first: 1) { totalCount } ...Inner }
        fragment Inner on Query { categories(first: 1) { totalCount } }
        """
    )
    operation = select(document, None)
    assert operation is not None
    assert operation.root_fields == ("tags", "categories", "me")


def test_unknown_and_cyclic_fragments_do_not_loop_or_fail() -> None:
    document = parse(
        """
        subscription S { ...Loop ...Missing }
        fragment Loop on Subscription { productChanged(id: "1") { id } ...Loop }
        """
    )
    assert select(document, None) == Operation("subscription", "S", ("productChanged",))
