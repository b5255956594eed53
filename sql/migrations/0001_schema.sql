-- The whole domain model of DESIGN §3: users, the category tree, products with their
-- search vector and review aggregates, tags, reviews, orders and their lines.
-- Every foreign key has an index whose leading column is that key.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    display_name  text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness without the citext extension.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE categories (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    parent_id  bigint      REFERENCES categories (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent_id_idx ON categories (parent_id);

CREATE TABLE products (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku          text          NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
    name         text          NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text          NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    price        numeric(12,2) NOT NULL CHECK (price >= 0),
    stock        integer       NOT NULL DEFAULT 0 CHECK (stock >= 0),
    category_id  bigint        NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    created_at   timestamptz   NOT NULL DEFAULT now(),
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    version      integer       NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Deliberate denormalization (DESIGN §3): kept exact by the reviews triggers below,
    -- so lists never aggregate reviews at read time.
    review_count integer       NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    rating_total integer       NOT NULL DEFAULT 0 CHECK (rating_total >= 0),
    rating_avg   numeric(3,2)  GENERATED ALWAYS AS (
                     CASE WHEN review_count = 0 THEN NULL
                          ELSE round(rating_total::numeric / review_count, 2) END
                 ) STORED,
    search       tsvector      GENERATED ALWAYS AS (
                     setweight(to_tsvector('english'::regconfig, name), 'A')
                     || setweight(to_tsvector('english'::regconfig, description), 'B')
                 ) STORED
);
CREATE INDEX products_category_id_idx ON products (category_id);
CREATE INDEX products_search_idx ON products USING gin (search);

CREATE TABLE tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(name) <= 50),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_tags (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag_id     bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, tag_id)
);
CREATE INDEX product_tags_tag_id_idx ON product_tags (tag_id);

CREATE TABLE reviews (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating     smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title      text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body       text        NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, author_id)
);
-- reviews(product_id) is served by the unique index above; author needs its own.
CREATE INDEX reviews_author_id_idx ON reviews (author_id);
-- "latest reviews of a product" is the hot read.
CREATE INDEX reviews_product_latest_idx ON reviews (product_id, created_at DESC, id DESC);

CREATE TABLE orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint      NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    status      text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id, created_at DESC, id DESC);

CREATE TABLE order_items (
    order_id   bigint        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id bigint        NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity   integer       NOT NULL CHECK (quantity > 0),
    unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

-- Review aggregates. Statement-level triggers over transition tables apply one delta per
-- product per statement, so a bulk COPY of 100k reviews costs one UPDATE, and deltas
-- (not recounts) stay exact when concurrent transactions review the same product: the
-- row lock serializes the additions. Rows are locked in product id order to avoid deadlocks,
-- and with NO KEY UPDATE, which does not conflict with the KEY SHARE lock that the foreign
-- key check of a concurrent review insert holds on the same product.
CREATE FUNCTION reviews_apply_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH d AS (
            SELECT product_id, count(*)::int AS n, sum(rating)::int AS s
            FROM new_rows GROUP BY product_id
        ), locked AS (
            SELECT p.id FROM products p JOIN d ON d.product_id = p.id ORDER BY p.id FOR NO KEY UPDATE OF p
        )
        UPDATE products p SET review_count = p.review_count + d.n, rating_total = p.rating_total + d.s
        FROM d WHERE p.id = d.product_id AND p.id IN (SELECT id FROM locked);
    ELSIF TG_OP = 'DELETE' THEN
        WITH d AS (
            SELECT product_id, count(*)::int AS n, sum(rating)::int AS s
            FROM old_rows GROUP BY product_id
        ), locked AS (
            SELECT p.id FROM products p JOIN d ON d.product_id = p.id ORDER BY p.id FOR NO KEY UPDATE OF p
        )
        UPDATE products p SET review_count = p.review_count - d.n, rating_total = p.rating_total - d.s
        FROM d WHERE p.id = d.product_id AND p.id IN (SELECT id FROM locked);
    ELSE
        WITH changes AS (
            SELECT product_id, 1 AS n, rating::int AS s FROM new_rows
            UNION ALL
            SELECT product_id, -1, -rating::int FROM old_rows
        ), d AS (
            SELECT product_id, sum(n)::int AS n, sum(s)::int AS s
            FROM changes GROUP BY product_id HAVING sum(n) <> 0 OR sum(s) <> 0
        ), locked AS (
            SELECT p.id FROM products p JOIN d ON d.product_id = p.id ORDER BY p.id FOR NO KEY UPDATE OF p
        )
        UPDATE products p SET review_count = p.review_count + d.n, rating_total = p.rating_total + d.s
        FROM d WHERE p.id = d.product_id AND p.id IN (SELECT id FROM locked);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reviews_aggregate_insert AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reviews_apply_delta();
CREATE TRIGGER reviews_aggregate_update AFTER UPDATE ON reviews
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_apply_delta();
CREATE TRIGGER reviews_aggregate_delete AFTER DELETE ON reviews
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reviews_apply_delta();
