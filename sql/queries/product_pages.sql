-- Product lists, one statement per allow-listed sort order (DESIGN §4), so an index can
-- serve each and no SQL is assembled from input. Every statement reads a page per root
-- category in :roots (its whole subtree; root 0 means the whole catalogue), applies the
-- same nullable filters, starts after the keyset position (:after_key, :after_id) and
-- returns the row's key as sort_key for the next cursor (gateway/ordering.py).

-- name: by_id
-- A filtered page of products per root category by id order (oldest rows first), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.id AS sort_key
    FROM products p
    WHERE p.id > :after_id::bigint
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.id

-- name: by_id_desc
-- A filtered page of products per root category by id order, newest rows first, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.id AS sort_key
    FROM products p
    WHERE p.id < :after_id::bigint
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.id DESC

-- name: by_price
-- A filtered page of products per root category by price (cheapest first), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.price AS sort_key
    FROM products p
    WHERE (p.price, p.id) > (:after_key::numeric, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.price, p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key, p.id

-- name: by_price_desc
-- A filtered page of products per root category by price, dearest first, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.price AS sort_key
    FROM products p
    WHERE (p.price, p.id) < (:after_key::numeric, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.price DESC, p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key DESC, p.id DESC

-- name: by_name
-- A filtered page of products per root category by name, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.name AS sort_key
    FROM products p
    WHERE (p.name, p.id) > (:after_key::text, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.name, p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key, p.id

-- name: by_name_desc
-- A filtered page of products per root category by name, descending, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.name AS sort_key
    FROM products p
    WHERE (:after_key::text IS NULL OR (p.name, p.id) < (:after_key, :after_id::bigint))
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.name DESC, p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key DESC, p.id DESC

-- name: by_created_at
-- A filtered page of products per root category by creation time (oldest first), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.created_at AS sort_key
    FROM products p
    WHERE (p.created_at, p.id) > (:after_key::timestamptz, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.created_at, p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key, p.id

-- name: by_created_at_desc
-- A filtered page of products per root category by creation time, newest first, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.created_at AS sort_key
    FROM products p
    WHERE (p.created_at, p.id) < (:after_key::timestamptz, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key DESC, p.id DESC

-- name: by_rating_avg
-- A filtered page of products per root category by mean rating (unrated as 0, lowest first), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           COALESCE(p.rating_avg, 0) AS sort_key
    FROM products p
    WHERE (COALESCE(p.rating_avg, 0), p.id) > (:after_key::numeric, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY COALESCE(p.rating_avg, 0), p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key, p.id

-- name: by_rating_avg_desc
-- A filtered page of products per root category by mean rating, best first (unrated as 0, last), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           COALESCE(p.rating_avg, 0) AS sort_key
    FROM products p
    WHERE (COALESCE(p.rating_avg, 0), p.id) < (:after_key::numeric, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY COALESCE(p.rating_avg, 0) DESC, p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key DESC, p.id DESC

-- name: by_review_count
-- A filtered page of products per root category by review count (fewest first), after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.review_count AS sort_key
    FROM products p
    WHERE (p.review_count, p.id) > (:after_key::integer, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.review_count, p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key, p.id

-- name: by_review_count_desc
-- A filtered page of products per root category by review count, most reviewed first, after a keyset position.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version, p.sort_key
FROM unnest(:roots::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
           p.review_count AS sort_key
    FROM products p
    WHERE (p.review_count, p.id) < (:after_key::integer, :after_id::bigint)
      AND (r.root_id = 0
           OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
      AND (:min_price::numeric IS NULL OR p.price >= :min_price)
      AND (:max_price::numeric IS NULL OR p.price <= :max_price)
      AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
              WHERE pt.product_id = p.id AND t.name = :tag))
      AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
      AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)
    ORDER BY p.review_count DESC, p.id DESC
    LIMIT :limit
) p
ORDER BY r.root_id, p.sort_key DESC, p.id DESC

-- name: count
-- How many products match the filters under each root category (root 0: the whole catalogue).
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:roots::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id,
       (SELECT count(*)
        FROM products p
        WHERE (r.root_id = 0
               OR p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id))
          AND (:min_price::numeric IS NULL OR p.price >= :min_price)
          AND (:max_price::numeric IS NULL OR p.price <= :max_price)
          AND (:in_stock::boolean IS NULL OR (p.stock > 0) = :in_stock)
          AND (:tag::text IS NULL OR EXISTS (
                  SELECT 1 FROM product_tags pt JOIN tags t ON t.id = pt.tag_id
                  WHERE pt.product_id = p.id AND t.name = :tag))
          AND (:q::text IS NULL OR p.search @@ websearch_to_tsquery('english', :q))
          AND (:rating_gte::numeric IS NULL OR p.rating_avg >= :rating_gte)) AS total
FROM unnest(:roots::bigint[]) AS r (root_id)
