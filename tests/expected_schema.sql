-- The schema that sql/migrations/ builds, from PostgreSQL's catalogs (tests/schema.py).
-- Not a script to run: the migrations are. tests/db/test_migrations.py checks that a freshly
-- migrated database matches this file exactly. Regenerate it with a new migration:
--     .venv/bin/python -m tests.schema --write

CREATE OR REPLACE FUNCTION public.gateway_cursor(payload text)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT rtrim(translate(encode(
               substring(sha256(convert_to('gateway-cursor-v2:' || payload, 'UTF8')) FROM 1 FOR 8)
               || convert_to(payload, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$function$;

CREATE OR REPLACE FUNCTION public.gateway_number(n numeric)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN trim_scale(n) = trunc(n) THEN trunc(n)::text || '.0'
                ELSE trim_scale(n)::text END
$function$;

CREATE OR REPLACE FUNCTION public.gateway_time(t timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT to_char(t AT TIME ZONE 'UTC',
                   CASE WHEN date_part('microseconds', t)::bigint % 1000000 = 0
                        THEN 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
                        ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"' END)
$function$;

CREATE OR REPLACE FUNCTION public.reviews_apply_delta()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
$function$;

CREATE TABLE public.categories (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.categories_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    slug text NOT NULL,
    name text NOT NULL,
    parent_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.order_items (
    order_id bigint NOT NULL,
    product_id bigint NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(12,2) NOT NULL
);

CREATE TABLE public.orders (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.orders_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    customer_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.product_tags (
    product_id bigint NOT NULL,
    tag_id bigint NOT NULL
);

CREATE TABLE public.products (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.products_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    sku text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    price numeric(12,2) NOT NULL,
    stock integer DEFAULT 0 NOT NULL,
    category_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    review_count integer DEFAULT 0 NOT NULL,
    rating_total integer DEFAULT 0 NOT NULL,
    rating_avg numeric(3,2) GENERATED ALWAYS AS (
CASE
    WHEN (review_count = 0) THEN NULL::numeric
    ELSE round(((rating_total)::numeric / (review_count)::numeric), 2)
END) STORED,
    search tsvector GENERATED ALWAYS AS ((setweight(to_tsvector('english'::regconfig, name), 'A'::"char") || setweight(to_tsvector('english'::regconfig, description), 'B'::"char"))) STORED
);

CREATE TABLE public.refresh_tokens (
    id uuid NOT NULL,
    family_id uuid NOT NULL,
    user_id bigint NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    replaced_by uuid
);

CREATE TABLE public.reviews (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.reviews_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    product_id bigint NOT NULL,
    author_id bigint NOT NULL,
    rating smallint NOT NULL,
    title text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.tags (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.tags_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.users (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.users_id_seq START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1),
    email text NOT NULL,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    role text DEFAULT 'customer'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    token_version integer DEFAULT 0 NOT NULL
);

ALTER TABLE public.categories ADD CONSTRAINT categories_check CHECK (parent_id IS DISTINCT FROM id);
ALTER TABLE public.categories ADD CONSTRAINT categories_name_check CHECK (length(name) >= 1 AND length(name) <= 200);
ALTER TABLE public.categories ADD CONSTRAINT categories_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.categories(id) ON DELETE RESTRICT;
ALTER TABLE public.categories ADD CONSTRAINT categories_pkey PRIMARY KEY (id);
ALTER TABLE public.categories ADD CONSTRAINT categories_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text AND length(slug) <= 100);
ALTER TABLE public.categories ADD CONSTRAINT categories_slug_key UNIQUE (slug);
ALTER TABLE public.order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;
ALTER TABLE public.order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (order_id, product_id);
ALTER TABLE public.order_items ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE RESTRICT;
ALTER TABLE public.order_items ADD CONSTRAINT order_items_quantity_check CHECK (quantity > 0);
ALTER TABLE public.order_items ADD CONSTRAINT order_items_unit_price_check CHECK (unit_price >= 0::numeric);
ALTER TABLE public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE RESTRICT;
ALTER TABLE public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE public.orders ADD CONSTRAINT orders_status_check CHECK (status = ANY (ARRAY['pending'::text, 'paid'::text, 'shipped'::text, 'cancelled'::text]));
ALTER TABLE public.product_tags ADD CONSTRAINT product_tags_pkey PRIMARY KEY (product_id, tag_id);
ALTER TABLE public.product_tags ADD CONSTRAINT product_tags_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;
ALTER TABLE public.product_tags ADD CONSTRAINT product_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES public.tags(id) ON DELETE CASCADE;
ALTER TABLE public.products ADD CONSTRAINT products_category_id_fkey FOREIGN KEY (category_id) REFERENCES public.categories(id) ON DELETE RESTRICT;
ALTER TABLE public.products ADD CONSTRAINT products_description_check CHECK (length(description) <= 10000);
ALTER TABLE public.products ADD CONSTRAINT products_name_check CHECK (length(name) >= 1 AND length(name) <= 200);
ALTER TABLE public.products ADD CONSTRAINT products_pkey PRIMARY KEY (id);
ALTER TABLE public.products ADD CONSTRAINT products_price_check CHECK (price >= 0::numeric);
ALTER TABLE public.products ADD CONSTRAINT products_rating_total_check CHECK (rating_total >= 0);
ALTER TABLE public.products ADD CONSTRAINT products_review_count_check CHECK (review_count >= 0);
ALTER TABLE public.products ADD CONSTRAINT products_sku_check CHECK (length(sku) >= 1 AND length(sku) <= 64);
ALTER TABLE public.products ADD CONSTRAINT products_sku_key UNIQUE (sku);
ALTER TABLE public.products ADD CONSTRAINT products_stock_check CHECK (stock >= 0);
ALTER TABLE public.products ADD CONSTRAINT products_version_check CHECK (version >= 1);
ALTER TABLE public.refresh_tokens ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);
ALTER TABLE public.refresh_tokens ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
ALTER TABLE public.reviews ADD CONSTRAINT reviews_author_id_fkey FOREIGN KEY (author_id) REFERENCES public.users(id) ON DELETE CASCADE;
ALTER TABLE public.reviews ADD CONSTRAINT reviews_body_check CHECK (length(body) <= 10000);
ALTER TABLE public.reviews ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);
ALTER TABLE public.reviews ADD CONSTRAINT reviews_product_id_author_id_key UNIQUE (product_id, author_id);
ALTER TABLE public.reviews ADD CONSTRAINT reviews_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;
ALTER TABLE public.reviews ADD CONSTRAINT reviews_rating_check CHECK (rating >= 1 AND rating <= 5);
ALTER TABLE public.reviews ADD CONSTRAINT reviews_title_check CHECK (length(title) >= 1 AND length(title) <= 200);
ALTER TABLE public.schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
ALTER TABLE public.tags ADD CONSTRAINT tags_name_check CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text AND length(name) <= 50);
ALTER TABLE public.tags ADD CONSTRAINT tags_name_key UNIQUE (name);
ALTER TABLE public.tags ADD CONSTRAINT tags_pkey PRIMARY KEY (id);
ALTER TABLE public.users ADD CONSTRAINT users_display_name_check CHECK (length(display_name) >= 1 AND length(display_name) <= 100);
ALTER TABLE public.users ADD CONSTRAINT users_email_check CHECK (length(email) >= 3 AND length(email) <= 254 AND email ~~ '%_@_%'::text);
ALTER TABLE public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE public.users ADD CONSTRAINT users_role_check CHECK (role = ANY (ARRAY['customer'::text, 'admin'::text]));

CREATE INDEX categories_parent_id_idx ON public.categories USING btree (parent_id);
CREATE UNIQUE INDEX categories_pkey ON public.categories USING btree (id);
CREATE UNIQUE INDEX categories_slug_key ON public.categories USING btree (slug);
CREATE UNIQUE INDEX order_items_pkey ON public.order_items USING btree (order_id, product_id);
CREATE INDEX order_items_product_id_idx ON public.order_items USING btree (product_id);
CREATE INDEX orders_created_at_id_idx ON public.orders USING btree (created_at DESC, id DESC);
CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id);
CREATE UNIQUE INDEX product_tags_pkey ON public.product_tags USING btree (product_id, tag_id);
CREATE INDEX product_tags_tag_id_idx ON public.product_tags USING btree (tag_id);
CREATE INDEX products_category_id_idx ON public.products USING btree (category_id);
CREATE INDEX products_created_at_id_idx ON public.products USING btree (created_at, id);
CREATE INDEX products_name_id_idx ON public.products USING btree (name, id);
CREATE UNIQUE INDEX products_pkey ON public.products USING btree (id);
CREATE INDEX products_price_id_idx ON public.products USING btree (price, id);
CREATE INDEX products_rating_id_idx ON public.products USING btree (COALESCE(rating_avg, (0)::numeric), id);
CREATE INDEX products_review_count_id_idx ON public.products USING btree (review_count, id);
CREATE INDEX products_search_idx ON public.products USING gin (search);
CREATE UNIQUE INDEX products_sku_key ON public.products USING btree (sku);
CREATE INDEX refresh_tokens_family_id_idx ON public.refresh_tokens USING btree (family_id);
CREATE UNIQUE INDEX refresh_tokens_pkey ON public.refresh_tokens USING btree (id);
CREATE INDEX refresh_tokens_user_id_idx ON public.refresh_tokens USING btree (user_id);
CREATE INDEX refresh_tokens_user_revoked_idx ON public.refresh_tokens USING btree (user_id, revoked_at) WHERE (revoked_at IS NOT NULL);
CREATE INDEX reviews_author_id_idx ON public.reviews USING btree (author_id);
CREATE UNIQUE INDEX reviews_pkey ON public.reviews USING btree (id);
CREATE UNIQUE INDEX reviews_product_id_author_id_key ON public.reviews USING btree (product_id, author_id);
CREATE INDEX reviews_product_latest_idx ON public.reviews USING btree (product_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX schema_migrations_pkey ON public.schema_migrations USING btree (version);
CREATE UNIQUE INDEX tags_name_key ON public.tags USING btree (name);
CREATE UNIQUE INDEX tags_pkey ON public.tags USING btree (id);
CREATE UNIQUE INDEX users_email_lower_key ON public.users USING btree (lower(email));
CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id);

CREATE TRIGGER reviews_aggregate_delete AFTER DELETE ON public.reviews REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.reviews_apply_delta();
CREATE TRIGGER reviews_aggregate_insert AFTER INSERT ON public.reviews REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.reviews_apply_delta();
CREATE TRIGGER reviews_aggregate_update AFTER UPDATE ON public.reviews REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.reviews_apply_delta();
