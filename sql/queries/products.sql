-- name: by_id
-- One product with its category and its tags (in name order) embedded by joins.
SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
       c.slug AS category_slug, c.name AS category_name, c.parent_id AS category_parent_id,
       c.created_at AS category_created_at,
       tg.tag_ids, tg.tag_names
FROM products p
JOIN categories c ON c.id = p.category_id
CROSS JOIN LATERAL (
    SELECT array_agg(t.id ORDER BY t.name) AS tag_ids, array_agg(t.name ORDER BY t.name) AS tag_names
    FROM product_tags pt
    JOIN tags t ON t.id = pt.tag_id
    WHERE pt.product_id = p.id
) tg
WHERE p.id = :id

-- name: insert
-- Create a product; the unique sku and the category's foreign key refuse bad rows.
INSERT INTO products (sku, name, description, price, stock, category_id)
VALUES (:sku, :name, :description, :price, :stock, :category_id)
RETURNING id

-- name: update
-- Change the given columns (NULL keeps one) and bump the version; no row if absent or stale.
UPDATE products p
SET sku = COALESCE(:sku, p.sku),
    name = COALESCE(:name, p.name),
    description = COALESCE(:description, p.description),
    price = COALESCE(:price, p.price),
    stock = COALESCE(:stock, p.stock),
    category_id = COALESCE(:category_id, p.category_id),
    version = p.version + 1,
    updated_at = now()
WHERE p.id = :id
  AND (:expected_version::integer IS NULL OR p.version = :expected_version::integer)
RETURNING p.id

-- name: lock
-- Lock a product's row until commit (an If-Match check, then the write); no row if absent.
SELECT p.id FROM products p WHERE p.id = :id FOR NO KEY UPDATE

-- name: version_of
-- A product's current version, to tell a stale expected version from a missing product.
SELECT p.version FROM products p WHERE p.id = :id

-- name: delete
-- Delete a product; its reviews and tag links cascade, order lines refuse it.
DELETE FROM products p WHERE p.id = :id RETURNING p.id

-- name: remove_tags
-- Detach every tag from a product (before attaching its new set).
DELETE FROM product_tags pt WHERE pt.product_id = :product_id

-- name: add_tags
-- Attach the existing tags among these ids to a product; returns the ids it attached.
INSERT INTO product_tags (product_id, tag_id)
SELECT :product_id, t.id FROM tags t WHERE t.id = ANY(:tag_ids::bigint[])
RETURNING tag_id
