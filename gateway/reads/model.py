"""The read model: every readable type, declared once as the SQL fragments the planner composes.

Over 400 lines: declarations, one `Type(...)` per readable type, in one place (DESIGN §2a).

Each type names its table, its fields (an SQL expression over the row's alias `{t}`, how
it is typed, its REST and GraphQL names), its relations (how a row of the target joins the
parent's row `{p}`), the orders its lists may be sorted in (each backed by an index), the
filters its lists take and who may see its rows. Nothing here comes from a request: the
planner picks fragments by name and binds every value.

Fragment placeholders: `{t}` the type's row, `{p}` the parent's row, `{v}` a bound value,
`{user}` the caller's id, bound like any value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "int", "text", "decimal", "bool", "time", "enum"]
"""How a field is typed: its JSON form in each style follows from it."""

KeyKind = Literal["id", "int", "decimal", "text", "timestamp"]
"""How a sort key is typed: in SQL, and in the cursor (JSON)."""


@dataclass(frozen=True, slots=True)
class Field:
    """A scalar property of a type."""

    name: str
    """Its name in the model and in REST (snake_case)."""
    sql: str
    kind: Kind
    graphql: str | None = None
    """Its GraphQL field name; None when the schema does not show it."""
    rest: bool = True
    nullable: bool = False
    owner: str = ""
    """`{t}`'s expression holding the id of the only caller besides admins who may see the
    value; anyone else reads null."""
    doc: str = ""
    choices: tuple[str, ...] = ()
    """The values an enum field takes (as REST writes them)."""


@dataclass(frozen=True, slots=True)
class Sort:
    """A sort key of a type's lists: `{t}`'s expression, indexed together with the id."""

    field: str
    sql: str
    kind: KeyKind
    reads: tuple[str, ...] = ()
    """What moves rows in this order (`price`, `stock`, `rating`): a write changing it
    retires the lists sorted so (`list:<Type>@<name>`), and no other list."""


@dataclass(frozen=True, slots=True)
class Filter:
    """A condition a list may be narrowed by; `{v}` is the bound value of SQL type `type`."""

    name: str
    sql: str
    type: str
    reads: tuple[str, ...] = ()
    """As `Sort.reads`: what moves rows in or out of a list narrowed so."""
    tables: tuple[str, ...] = ()
    """Tables its condition reads besides the type's own and `Type.tables`."""


@dataclass(frozen=True, slots=True)
class Relation:
    """How rows of `target` belong to a row of the type that declares the relation."""

    name: str
    """Its name in REST (`include=`, and the embedded property)."""
    target: str
    many: bool
    on: str
    """A condition joining the target's row `{t}` (and `{x}`, a `through` row) to `{p}`."""
    through: str = ""
    """A link table joined as `{x}`, for many-to-many relations."""
    source: str = ""
    """A FROM item that replaces the target's table (aliased `{t}`), for derived rows."""
    graphql: str | None = None
    order: str = ""
    """The fixed order of a whole list (`{t}`'s expressions); paged lists use sorts."""
    paged: bool = False
    """Read a page at a time, in the target's sorts, with a default and a largest size."""
    default_limit: int = 20
    max_limit: int = 100
    total: str = ""
    """How many rows the relation holds, from `{p}` alone, when that needs no count."""
    nullable: bool = False
    reads: tuple[str, ...] = ()
    """As `Sort.reads`: what moves the target's rows in or out of the relation."""
    owned: bool = False
    """Every write that changes which rows it holds, or their order, also changes the
    parent (a review moves its product's rating; tagging a product is a product write):
    the parent's entity tag covers the list, so it needs no list tag of its own."""
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Type:
    """A readable type: one table's rows as both styles show them."""

    name: str
    """The GraphQL type name, which is also the model's."""
    table: str
    rest: str
    """Its name in REST's per-type parameters (`fields[reviews]=`)."""
    fields: tuple[Field, ...]
    relations: tuple[Relation, ...] = ()
    rest_shape: tuple[str, ...] = ()
    """Fields and relations a REST representation holds, in order, when none are asked."""
    rest_fields: tuple[str, ...] = ()
    """What `fields=` may name: fields and always-embedded relations (the id always comes)."""
    sorts: tuple[Sort, ...] = ()
    default_sort: str = "id"
    cursor: str = ""
    """The resource name cursors of its lists are tagged with (`products:-price`)."""
    filters: tuple[Filter, ...] = ()
    owner: str = ""
    """`{t}`'s expression holding the id of the only caller besides admins who may see the
    row; anyone else reads it as absent."""
    tables: tuple[str, ...] = ()
    """Tables its fields read besides its own (order totals read order_items)."""
    key: str = "{t}.id"
    primary: bool = False
    """Always read from the primary, never a replica (sign-in data must not lag)."""
    doc: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields] + [r.name for r in self.relations]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a name is declared twice")
        for name in (*self.rest_shape, *self.rest_fields):
            if name not in names:
                raise ValueError(f"{self.name}: {name} is neither a field nor a relation")

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no field {name}")

    def relation(self, name: str) -> Relation:
        for candidate in self.relations:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no relation {name}")

    def has_relation(self, name: str) -> bool:
        return any(r.name == name for r in self.relations)

    def sort(self, name: str) -> tuple[Sort, bool]:
        """The sort called `name` (`-price`: descending); KeyError if it is not allowed."""
        descending = name.startswith("-")
        wanted = name[1:] if descending else name
        for candidate in self.sorts:
            if candidate.field == wanted:
                return candidate, descending
        raise KeyError(f"{self.name} cannot be sorted by {name}")

    @property
    def sort_names(self) -> tuple[str, ...]:
        return tuple(n for s in self.sorts for n in (s.field, "-" + s.field))

    def filter(self, name: str) -> Filter:
        for candidate in self.filters:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no filter {name}")


# A category and everything below it, from a root given as `{root}`.
SUBTREE = (
    "(WITH RECURSIVE tree (id) AS (SELECT c.id FROM categories c WHERE c.id = {root}"
    " UNION SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id)"
    " SELECT tree.id FROM tree)"
)

_CREATED = Field(
    "created_at", "{t}.created_at", "time", graphql="createdAt", doc="When it was created."
)
_UPDATED = Field(
    "updated_at", "{t}.updated_at", "time", graphql="updatedAt", doc="When it last changed."
)


def _id(doc: str = "Its id.") -> Field:
    return Field("id", "{t}.id", "id", graphql="id", doc=doc)


PRODUCT = Type(
    "Product",
    "products",
    "products",
    doc="Something for sale in the catalogue.",
    fields=(
        _id(),
        Field("sku", "{t}.sku", "text", graphql="sku", doc="Stock-keeping unit, unique."),
        Field("name", "{t}.name", "text", graphql="name", doc="Display name."),
        Field("description", "{t}.description", "text", graphql="description", doc="Longer text."),
        Field("price", "{t}.price", "decimal", graphql="price", doc="Unit price, two decimals."),
        Field("stock", "{t}.stock", "int", graphql="stock", doc="Units in stock."),
        Field(
            "in_stock",
            "{t}.stock > 0",
            "bool",
            graphql="inStock",
            doc="Whether at least one unit is in stock.",
        ),
        Field("category_id", "{t}.category_id", "id", doc="The category it is filed under."),
        Field(
            "review_count",
            "{t}.review_count",
            "int",
            graphql="reviewCount",
            doc="How many reviews it has.",
        ),
        Field(
            "rating_avg",
            "{t}.rating_avg",
            "decimal",
            graphql="ratingAvg",
            nullable=True,
            doc="Mean rating, two decimals; null without reviews.",
        ),
        _CREATED,
        _UPDATED,
        Field(
            "version",
            "{t}.version",
            "int",
            graphql="version",
            doc="Bumped by every change to the product itself.",
        ),
    ),
    relations=(
        Relation(
            "category",
            "Category",
            False,
            "{t}.id = {p}.category_id",
            graphql="category",
            doc="The category it is filed under.",
        ),
        Relation(
            "tags",
            "Tag",
            True,
            "{x}.product_id = {p}.id",
            through="product_tags {x} ON {x}.tag_id = {t}.id",
            graphql="tags",
            owned=True,
            order="{t}.name, {t}.id",
            doc="Its tags, in name order.",
        ),
        Relation(
            "reviews",
            "Review",
            True,
            "{t}.product_id = {p}.id",
            graphql="reviews",
            paged=True,
            owned=True,
            default_limit=10,
            total="{p}.review_count",
            doc="Its reviews, newest first (a page: the newest 10 unless `limit[...]` says).",
        ),
    ),
    rest_shape=(
        "id",
        "sku",
        "name",
        "description",
        "price",
        "stock",
        "in_stock",
        "category_id",
        "review_count",
        "rating_avg",
        "created_at",
        "updated_at",
        "version",
    ),
    rest_fields=(
        "id",
        "sku",
        "name",
        "description",
        "price",
        "stock",
        "in_stock",
        "category_id",
        "review_count",
        "rating_avg",
        "created_at",
        "updated_at",
        "version",
    ),
    sorts=(
        Sort("id", "{t}.id", "id"),
        Sort("price", "{t}.price", "decimal", reads=("price",)),
        Sort("name", "{t}.name", "text", reads=("name",)),
        Sort("created_at", "{t}.created_at", "timestamp"),
        # The index is on this expression: unrated products sort as 0.
        Sort("rating_avg", "COALESCE({t}.rating_avg, 0)", "decimal", reads=("rating",)),
        Sort("review_count", "{t}.review_count", "int", reads=("rating",)),
    ),
    cursor="products",
    filters=(
        Filter(
            "category_id",
            "{t}.category_id IN " + SUBTREE.replace("{root}", "{v}"),
            "bigint",
            reads=("category",),
            tables=("categories",),
        ),
        Filter(
            "category_slug",
            "{t}.category_id IN "
            + SUBTREE.replace("{root}", "(SELECT s.id FROM categories s WHERE s.slug = {v})"),
            "text",
            reads=("category",),
            tables=("categories",),
        ),
        Filter("min_price", "{t}.price >= {v}", "numeric", reads=("price",)),
        Filter("max_price", "{t}.price <= {v}", "numeric", reads=("price",)),
        Filter("in_stock", "({t}.stock > 0) = {v}", "boolean", reads=("stock",)),
        Filter(
            "tag",
            "EXISTS (SELECT 1 FROM product_tags pt JOIN tags tg ON tg.id = pt.tag_id"
            " WHERE pt.product_id = {t}.id AND tg.name = {v})",
            "text",
            reads=("tag",),
        ),
        # The matches first, through the GIN index, whatever the words: a plan that walks an
        # ordering index and tests each row would read the whole table for a rare word.
        Filter(
            "q",
            "{t}.id = ANY (ARRAY(SELECT s.id FROM products s"
            " WHERE s.search @@ websearch_to_tsquery('english', {v})))",
            "text",
            reads=("search",),
        ),
        Filter("rating_gte", "{t}.rating_avg >= {v}", "numeric", reads=("rating",)),
    ),
    tables=("product_tags", "tags"),
)

CATEGORY = Type(
    "Category",
    "categories",
    "categories",
    doc="A node of the category tree.",
    fields=(
        _id(),
        Field("slug", "{t}.slug", "text", graphql="slug", doc="URL-safe unique name."),
        Field("name", "{t}.name", "text", graphql="name", doc="Display name."),
        Field(
            "parent_id",
            "{t}.parent_id",
            "id",
            nullable=True,
            doc="The parent category; null at the top level.",
        ),
        _CREATED,
    ),
    relations=(
        Relation(
            "parent",
            "Category",
            False,
            "{t}.id = {p}.parent_id",
            graphql="parent",
            nullable=True,
            doc="The parent category; null at the top level.",
        ),
        Relation(
            "children",
            "Category",
            True,
            "{t}.parent_id = {p}.id",
            graphql="children",
            order="{t}.name, {t}.id",
            doc="The direct subcategories, in name order.",
        ),
        Relation(
            "ancestors",
            "Category",
            True,
            "TRUE",
            # The path from the top of the tree down to the parent, as category rows.
            source=(
                "(WITH RECURSIVE up (id, depth) AS (SELECT {p}.parent_id, 1"
                " UNION ALL SELECT c.parent_id, up.depth + 1 FROM up"
                " JOIN categories c ON c.id = up.id WHERE c.parent_id IS NOT NULL)"
                " SELECT c.*, up.depth FROM up JOIN categories c ON c.id = up.id)"
            ),
            graphql="ancestors",
            order="{t}.depth DESC",
            doc="The categories above it, from the top of the tree down to its parent.",
        ),
        Relation(
            "products",
            "Product",
            True,
            "{t}.category_id IN " + SUBTREE.replace("{root}", "{p}.id"),
            graphql="products",
            paged=True,
            reads=("category",),
            doc="Products filed under it or below it, in id order (a page of 20 unless "
            "`limit[...]` says).",
        ),
    ),
    rest_shape=("id", "slug", "name", "parent_id", "created_at"),
    rest_fields=("id", "slug", "name", "parent_id", "created_at"),
    sorts=(Sort("id", "{t}.id", "id"), Sort("name", "{t}.name", "text")),
    cursor="categories",
    filters=(Filter("parent_id", "{t}.parent_id = {v}", "bigint"),),
)

TAG = Type(
    "Tag",
    "tags",
    "tags",
    doc="A label products carry.",
    fields=(_id(), Field("name", "{t}.name", "text", graphql="name", doc="Its unique name.")),
    rest_shape=("id", "name"),
    rest_fields=("id", "name"),
    sorts=(Sort("name", "{t}.name", "text"),),
    default_sort="name",
    cursor="tags",
)

USER = Type(
    "User",
    "users",
    "users",
    doc="A user's public profile: never an email.",
    fields=(
        _id(),
        Field(
            "display_name",
            "{t}.display_name",
            "text",
            graphql="displayName",
            doc="The name the user shows to others.",
        ),
    ),
    rest_shape=("id", "display_name"),
    rest_fields=("id", "display_name"),
)

ACCOUNT = Type(
    "Account",
    "users",
    "accounts",
    doc="The signed-in account, with what only its owner sees.",
    fields=(
        _id(),
        Field(
            "email",
            "{t}.email",
            "text",
            graphql="email",
            nullable=True,
            owner="{t}.id",
            doc="The sign-in email (its owner and admins only).",
        ),
        Field(
            "display_name",
            "{t}.display_name",
            "text",
            graphql="displayName",
            doc="The name shown to others.",
        ),
        Field(
            "role",
            "{t}.role",
            "enum",
            graphql="role",
            choices=("customer", "admin"),
            doc="What the account may do.",
        ),
        _CREATED,
    ),
    rest_shape=("id", "email", "display_name", "role", "created_at"),
    rest_fields=("id", "email", "display_name", "role", "created_at"),
    # A replica may not have an account created a moment ago.
    primary=True,
)

REVIEW = Type(
    "Review",
    "reviews",
    "reviews",
    doc="A customer's review of a product.",
    fields=(
        _id(),
        Field("product_id", "{t}.product_id", "id", doc="The reviewed product."),
        Field("author_id", "{t}.author_id", "id", doc="Who wrote it."),
        Field("rating", "{t}.rating", "int", graphql="rating", doc="1 (worst) to 5 (best)."),
        Field("title", "{t}.title", "text", graphql="title", doc="One-line summary."),
        Field("body", "{t}.body", "text", graphql="body", doc="The review's text."),
        _CREATED,
        _UPDATED,
    ),
    relations=(
        Relation(
            "product",
            "Product",
            False,
            "{t}.id = {p}.product_id",
            graphql="product",
            doc="The reviewed product.",
        ),
        Relation(
            "author",
            "User",
            False,
            "{t}.id = {p}.author_id",
            graphql="author",
            doc="Who wrote it (public profile).",
        ),
    ),
    rest_shape=(
        "id",
        "product_id",
        "author",
        "rating",
        "title",
        "body",
        "created_at",
        "updated_at",
    ),
    rest_fields=(
        "id",
        "product_id",
        "author",
        "rating",
        "title",
        "body",
        "created_at",
        "updated_at",
    ),
    sorts=(Sort("created_at", "{t}.created_at", "timestamp"), Sort("rating", "{t}.rating", "int")),
    default_sort="-created_at",
    cursor="reviews",
)

ORDER_ITEM = Type(
    "OrderItem",
    "order_items",
    "items",
    doc="One line of an order.",
    fields=(
        Field("product_id", "{t}.product_id", "id", doc="The ordered product."),
        Field(
            "product_name",
            "(SELECT ip.name FROM products ip WHERE ip.id = {t}.product_id)",
            "text",
            doc="The product's current name.",
        ),
        Field("quantity", "{t}.quantity", "int", graphql="quantity", doc="How many units."),
        Field(
            "unit_price",
            "{t}.unit_price",
            "decimal",
            graphql="unitPrice",
            doc="The price when the order was placed.",
        ),
    ),
    relations=(
        Relation(
            "product",
            "Product",
            False,
            "{t}.id = {p}.product_id",
            graphql="product",
            doc="The ordered product.",
        ),
    ),
    rest_shape=("product_id", "product_name", "quantity", "unit_price"),
    rest_fields=("product_id", "product_name", "quantity", "unit_price"),
    tables=("products",),
    key="{t}.product_id",
)

ORDER = Type(
    "Order",
    "orders",
    "orders",
    doc="A customer's order.",
    fields=(
        _id(),
        Field("customer_id", "{t}.customer_id", "id", doc="Who placed it."),
        Field(
            "status",
            "{t}.status",
            "enum",
            graphql="status",
            choices=("pending", "paid", "shipped", "cancelled"),
            doc="Where the order is in its life.",
        ),
        Field(
            "total",
            "(SELECT COALESCE(sum(oi.quantity * oi.unit_price), 0)"
            " FROM order_items oi WHERE oi.order_id = {t}.id)",
            "decimal",
            graphql="total",
            doc="Sum of quantity times unit price over the lines.",
        ),
        _CREATED,
        _UPDATED,
    ),
    relations=(
        Relation(
            "customer",
            "User",
            False,
            "{t}.id = {p}.customer_id",
            graphql="customer",
            doc="Who placed it (public profile).",
        ),
        Relation(
            "items",
            "OrderItem",
            True,
            "{t}.order_id = {p}.id",
            graphql="items",
            order="{t}.product_id",
            doc="The order's lines, in product id order.",
        ),
    ),
    rest_shape=("id", "customer", "status", "total", "created_at", "updated_at", "items"),
    rest_fields=("id", "customer", "status", "total", "created_at", "updated_at", "items"),
    sorts=(Sort("created_at", "{t}.created_at", "timestamp"),),
    default_sort="-created_at",
    cursor="orders",
    filters=(Filter("status", "{t}.status = {v}", "text"),),
    owner="{t}.customer_id",
    tables=("order_items",),
)


@dataclass(frozen=True)
class Model:
    """Every readable type by name."""

    types: Mapping[str, Type] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Type:
        return self.types[name]

    def target(self, owner: Type, relation: str) -> tuple[Relation, Type]:
        found = owner.relation(relation)
        return found, self.types[found.target]

    def by_rest_name(self, name: str) -> Type | None:
        for candidate in self.types.values():
            if candidate.rest == name:
                return candidate
        return None


MODEL = Model(
    {t.name: t for t in (PRODUCT, CATEGORY, TAG, USER, ACCOUNT, REVIEW, ORDER_ITEM, ORDER)}
)
