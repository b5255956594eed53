"""The demo data set: deterministic generation of every domain table and its bulk load.

Rows are generated in Python from one `random.Random(seed)` and loaded with COPY, so a
benchmark-sized set (10k products, 100k reviews) loads in seconds, and the same scale and
seed always give byte-identical tables: every timestamp is a fixed base plus an offset.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from gateway.db.database import Database

log = logging.getLogger("gateway.seed")

STATEMENTS = ("seed.row_counts", "seed.truncate", "seed.reset_identities", "seed.has_data")

_BASE = datetime(2026, 1, 1, tzinfo=UTC)
_DAY = 86_400
# "!" is never the output of a password hash, so seeded accounts cannot log in at all.
# A later change adds real development accounts with known passwords.
_NO_PASSWORD = "!"  # noqa: S105 - the absence of a password, not a secret


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(sep))


def _taxonomy(text: str) -> dict[str, dict[str, tuple[str, ...]]]:
    tree: dict[str, dict[str, tuple[str, ...]]] = {}
    for line in text.strip().splitlines():
        path, nouns = line.split(":")
        department, section = _words(path, "/")
        tree.setdefault(department, {})[section] = _words(nouns, ",")
    return tree


# department / section: leaf nouns (singular; products are named after them).
_TAXONOMY = _taxonomy("""
home / lighting: desk lamp, floor lamp, pendant light, night light
home / furniture: bookcase, armchair, side table, coat rack
home / decor: vase, wall clock, picture frame, throw pillow
home / bedding: duvet cover, pillowcase, blanket, mattress topper
outdoors / camping: tent, sleeping bag, camp stove, lantern
outdoors / garden: watering can, trowel, planter, hose reel
outdoors / cycling: bike light, helmet, saddle bag, bike lock
outdoors / hiking: hiking boot, trekking pole, daypack, rain jacket
kitchen / cookware: saucepan, frying pan, stock pot, dutch oven
kitchen / tableware: dinner plate, serving bowl, mug, teapot
kitchen / appliances: kettle, toaster, blender, coffee grinder
kitchen / storage: spice jar, lunch box, bread bin, food container
electronics / audio: speaker, turntable, soundbar, microphone
electronics / computing: keyboard, monitor arm, webcam, laptop stand
electronics / phone accessories: phone case, charger, power bank, screen protector
electronics / smart home: smart plug, smart bulb, thermostat, door sensor
office / stationery: notebook, fountain pen, pencil case, desk organizer
office / bags: backpack, messenger bag, laptop sleeve, tote bag
office / workspace: standing desk, office chair, desk mat, monitor riser
office / paper: planner, sketchbook, envelope, label maker
sports / fitness: yoga mat, dumbbell, jump rope, foam roller
sports / running: running shoe, water bottle, armband, running cap
sports / swimming: swim cap, kickboard, beach towel, swimsuit
sports / team sports: football, basketball, volleyball, shin guard
""")
_MATERIALS = _words("walnut oak bamboo brass copper ceramic linen wool cotton steel cork slate")
_STYLES = _words("nordic vintage modern rustic minimal everyday deluxe compact classic urban")
_PURPOSES = _words(
    "made for everyday use | designed for small spaces | built to last for years"
    " | easy to travel with | a thoughtful gift | finished to age well",
    "|",
)
_CLOSERS = _words(
    "Ships within two business days. | Backed by a two-year warranty."
    " | Free returns within 30 days. | Easy to clean and simple to assemble."
    " | Made from responsibly sourced materials. | A customer favourite since launch.",
    "|",
)
_TAGS = _words("""
    bestseller new-arrival eco-friendly handmade gift-idea on-sale limited-edition waterproof
    wireless organic recycled premium budget staff-pick vegan portable durable travel kids
    outdoor ergonomic vintage minimalist smart cordless dishwasher-safe fair-trade local
""")
_FIRST = _words("Ada Ben Chloe Dev Elif Femi Grace Hiro Ines Jonas Kai Lena Mateo Nora Omar Priya")
_LAST = _words("Adler Brooks Costa Dubois Eriksen Fischer Garcia Haas Ito Jensen Khan Lopez")
_RATING_WEIGHTS = (5, 7, 15, 33, 40)  # ratings 1..5: reviews skew positive, as in real shops
_REVIEW_TEXT: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    5: (
        ("Love it", "Excellent quality", "Exceeded expectations", "Would buy again"),
        ("The {noun} is exactly as described.", "Best {noun} I have owned so far."),
    ),
    4: (
        ("Very good", "Solid choice", "Happy with it"),
        ("A good {noun} for the price.", "Works well; the finish could be better."),
    ),
    3: (("It's okay", "Does the job", "Average"), ("The {noun} is fine, nothing special.",)),
    2: (("Disappointing", "Not as pictured"), ("The {noun} feels cheaper than it looks.",)),
    1: (("Broke quickly", "Not worth it"), ("My {noun} stopped working within a week.",)),
}
_STATUSES = {  # status: (weight, then min and max seconds from placing the order to it)
    "pending": (15, 0, 1),
    "paid": (20, 60, 3_600),
    "shipped": (55, _DAY, 5 * _DAY),
    "cancelled": (10, 600, 2 * _DAY),
}
# Load order (parents first) and the columns given explicitly; review_count and rating_total
# are left to the reviews triggers, which COPY fires.
_COLUMNS = {
    "users": _words("id email display_name password_hash role created_at"),
    "categories": _words("id slug name parent_id created_at"),
    "tags": _words("id name created_at"),
    "products": _words(
        "id sku name description price stock category_id created_at updated_at version"
    ),
    "product_tags": _words("product_id tag_id"),
    "reviews": _words("id product_id author_id rating title body created_at updated_at"),
    "orders": _words("id customer_id status created_at updated_at"),
    "order_items": _words("order_id product_id quantity unit_price"),
}

_Rows = list[tuple[Any, ...]]


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (e.g. not empty without reset)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Scale:
    """How many rows of each kind the demo data set holds."""

    categories: int
    products: int
    users: int
    tags: int
    reviews: int
    orders: int

    def __post_init__(self) -> None:
        least = {"categories": 3, "products": 1, "users": 1, "tags": 0, "reviews": 0, "orders": 0}
        for name, minimum in least.items():
            value = getattr(self, name)
            if type(value) is not int or value < minimum:
                raise ValueError(f"scale: {name} must be an integer >= {minimum}, not {value!r}")
        if self.reviews > self.products * self.users:
            raise ValueError("scale: more reviews than (product, author) pairs")

    @classmethod
    def parse(cls, text: str) -> Scale:
        """`small`, `bench`, or a number of products; the other counts follow bench's ratios."""
        word = text.strip().lower()
        if word in _PRESETS:
            return _PRESETS[word]
        if not re.fullmatch(r"[0-9]+", word) or int(word) == 0:
            raise ValueError(
                f"invalid scale {text!r}: use 'small', 'bench' or a positive number of products"
            )
        n = int(word)
        return cls(
            categories=max(12, round(n / 100)),
            products=n,
            users=max(10, round(n / 5)),
            tags=max(10, round(n / 100)),
            reviews=10 * n,
            orders=2 * n,
        )


_PRESETS = {
    "small": Scale(categories=12, products=200, users=50, tags=25, reviews=1_000, orders=300),
    "bench": Scale(
        categories=100, products=10_000, users=2_000, tags=100, reviews=100_000, orders=20_000
    ),
}


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seed run loaded: rows per table, and the wall time it took."""

    counts: dict[str, int]
    seconds: float


async def seed(
    db: Database, scale: Scale, *, reset: bool = False, rng_seed: int = 20261126
) -> SeedReport:
    """Load the demo data set into the domain tables, in one transaction.

    Raises SeedError when a domain table already holds rows and `reset` is false; with
    `reset` the tables are truncated first. On any failure the database is left as it was.
    `schema_migrations` is never touched.
    """
    started = time.perf_counter()
    # Generate before the transaction opens: the server ends sessions idle in a transaction.
    tables = _generate(scale, rng_seed)
    log.info("generated %s in %.2f s", scale, time.perf_counter() - started)
    counts: dict[str, int] = {}
    async with db.transaction():
        if reset:
            await db.execute("seed.truncate")
        else:
            existing = await db.fetch_one("seed.row_counts") or {}
            held = ", ".join(f"{n} {table}" for table, n in existing.items() if n)
            if held:
                raise SeedError(
                    f"the database already holds data ({held}); pass --reset to replace it"
                )
        for table, rows in tables.items():
            counts[table] = await db.copy_records(table, _COLUMNS[table], rows)
            log.info("loaded %d rows into %s", counts[table], table)
        await db.execute("seed.reset_identities")
    report = SeedReport(counts=counts, seconds=time.perf_counter() - started)
    log.info("seeded %d rows in %.2f s", sum(counts.values()), report.seconds)
    return report


def _generate(scale: Scale, rng_seed: int) -> dict[str, _Rows]:
    """Every table's rows, in load order."""
    rng = random.Random(rng_seed)  # noqa: S311 - reproducible demo data, not secrets
    categories, leaves = _categories(scale.categories)
    users, user_times = _users(rng, scale.users)
    tags = [(i, _nth(_TAGS, i - 1), _BASE) for i in range(1, scale.tags + 1)]
    products, nouns, prices, product_times = _products(rng, scale.products, leaves)
    product_tags = [
        (product, tag)
        for product in range(1, scale.products + 1)
        for tag in sorted(rng.sample(range(1, scale.tags + 1), min(scale.tags, rng.randint(0, 5))))
    ]
    reviews = _reviews(rng, scale, nouns, product_times, user_times)
    orders, items = _orders(rng, scale, prices, product_times, user_times)
    tables = (users, categories, tags, products, product_tags, reviews, orders, items)
    return dict(zip(_COLUMNS, tables, strict=True))


class _Node(NamedTuple):
    id: int
    slug: str
    path: tuple[str, ...]  # taxonomy keys from the department down


def _nth(words: Sequence[str], index: int, sep: str = "-") -> str:
    """The index-th word, numbered once the list runs out, so names stay unique."""
    lap = index // len(words)
    return words[index % len(words)] + (f"{sep}{lap + 1}" if lap else "")


def _categories(n: int) -> tuple[_Rows, list[_Node]]:
    """A 3-level tree: departments, their sections, and the leaves products live in."""
    n_roots = max(1, min(round(n ** (1 / 3)), n // 3))
    n_mids = min(max(n_roots, round(0.6 * n**0.76)), (n - n_roots) // 2)
    rows: _Rows = []

    def add(parent: _Node | None, k: int) -> _Node:
        path = parent.path if parent else ()
        level: Any = _TAXONOMY
        for key in path:
            level = level[key]
        options = list(level)
        word = _nth([_plural(o) for o in options] if len(path) == 2 else options, k, " ")
        slug = "-".join(([parent.slug] if parent else []) + word.split())
        rows.append((len(rows) + 1, slug, word.title(), parent.id if parent else None, _BASE))
        return _Node(len(rows), slug, (*path, options[k % len(options)]))

    roots = [add(None, i) for i in range(n_roots)]
    mids = [add(roots[i % n_roots], i // n_roots) for i in range(n_mids)]
    leaves = [add(mids[j % n_mids], j // n_mids) for j in range(n - n_roots - n_mids)]
    return rows, leaves


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def _offsets(rng: random.Random, n: int, days: int) -> list[datetime]:
    """n ascending timestamps within `days` of the base, so ids follow creation order."""
    seconds = sorted(rng.randrange(days * _DAY) for _ in range(n))
    return [_BASE + timedelta(seconds=s) for s in seconds]


def _users(rng: random.Random, n: int) -> tuple[_Rows, list[datetime]]:
    times = [_BASE, *_offsets(rng, n - 1, 30)]
    rows: _Rows = [(1, "admin@example.com", "Admin", _NO_PASSWORD, "admin", _BASE)]
    for i in range(2, n + 1):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        rows.append((i, f"user{i}@example.com", name, _NO_PASSWORD, "customer", times[i - 1]))
    return rows, times


def _products(
    rng: random.Random, n: int, leaves: list[_Node]
) -> tuple[_Rows, list[str], list[Decimal], list[datetime]]:
    rows: _Rows = []
    nouns: list[str] = []
    prices: list[Decimal] = []
    times = _offsets(rng, n, 30)
    for i, created in enumerate(times, start=1):
        leaf = rng.choice(leaves)
        noun = leaf.path[2]
        material, style = rng.choice(_MATERIALS), rng.choice(_STYLES)
        name = rng.choice((f"{material} {noun}", f"{style} {material} {noun}", f"{style} {noun}"))
        adjective = rng.choice((material, style))
        closers = " ".join(rng.sample(_CLOSERS, rng.randint(1, 2)))
        description = f"This {adjective} {noun} is {rng.choice(_PURPOSES)}. {closers}"
        # Log-uniform prices with shop-like endings: many cheap items, a few expensive ones.
        cents = round(10 ** rng.uniform(2, 5)) // 100 * 100 + rng.choice((99, 95, 49, 0))
        price = Decimal(min(99_999, max(100, cents))).scaleb(-2)
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
        updated = created + timedelta(seconds=rng.randrange(10 * _DAY) if rng.random() < 0.3 else 0)
        sku = f"{leaf.path[0][:3].upper()}-{i:06d}"
        rows.append((i, sku, name.title(), description, price, stock, leaf.id, created, updated, 1))
        nouns.append(noun)
        prices.append(price)
    return rows, nouns, prices, times


def _reviews(
    rng: random.Random,
    scale: Scale,
    nouns: list[str],
    product_times: list[datetime],
    user_times: list[datetime],
) -> _Rows:
    """Exactly `scale.reviews` reviews, a few popular products drawing most of them."""
    weights = [rng.lognormvariate(0, 1) for _ in range(scale.products)]
    total = sum(weights)
    counts = [min(scale.users, int(scale.reviews * w / total)) for w in weights]
    short = scale.reviews - sum(counts)
    order = rng.sample(range(scale.products), scale.products)
    while short:
        for p in order:
            if short and counts[p] < scale.users:
                counts[p], short = counts[p] + 1, short - 1
    drafts = []
    for p, count in enumerate(counts):
        for author in rng.sample(range(1, scale.users + 1), count):
            rating = rng.choices(range(1, 6), _RATING_WEIGHTS)[0]
            titles, bodies = _REVIEW_TEXT[rating]
            body = "" if rng.random() < 0.1 else rng.choice(bodies).format(noun=nouns[p])
            start = max(product_times[p], user_times[author - 1])
            created = start + timedelta(seconds=rng.randrange(3_600, 60 * _DAY))
            edited = rng.randrange(3_600, 7 * _DAY) if rng.random() < 0.1 else 0
            updated = created + timedelta(seconds=edited)
            drafts.append((p + 1, author, rating, rng.choice(titles), body, created, updated))
    drafts.sort(key=lambda d: d[5])  # stable, so still deterministic; ids follow time
    return [(i, *d) for i, d in enumerate(drafts, start=1)]


def _orders(
    rng: random.Random,
    scale: Scale,
    prices: list[Decimal],
    product_times: list[datetime],
    user_times: list[datetime],
) -> tuple[_Rows, _Rows]:
    """Orders by customers (not the admin, when there is anyone else) and their lines."""
    statuses, weights = list(_STATUSES), [weight for weight, _, _ in _STATUSES.values()]
    drafts = []
    for _ in range(scale.orders):
        customer = rng.randint(2, scale.users) if scale.users > 1 else 1
        products = rng.sample(range(1, scale.products + 1), min(scale.products, rng.randint(1, 5)))
        start = max([user_times[customer - 1], *(product_times[p - 1] for p in products)])
        created = start + timedelta(seconds=rng.randrange(3_600, 60 * _DAY))
        status = rng.choices(statuses, weights)[0]
        updated = created + timedelta(seconds=rng.randrange(*_STATUSES[status][1:]))
        lines = [(p, rng.randint(1, 3)) for p in products]
        drafts.append((created, customer, status, updated, lines))
    drafts.sort(key=lambda d: d[0])
    orders: _Rows = []
    items: _Rows = []
    for i, (created, customer, status, updated, lines) in enumerate(drafts, start=1):
        orders.append((i, customer, status, created, updated))
        items.extend((i, p, quantity, prices[p - 1]) for p, quantity in lines)
    return orders, items
