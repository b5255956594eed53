-- name: by_ids
-- The categories with these ids (one batched query for a DataLoader or an include).
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.id = ANY(:ids::bigint[])

-- name: by_slug
-- One category by its slug.
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.slug = :slug

-- name: page_by_id
-- One page of categories in id order, after a keyset position.
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.id > :after_id
ORDER BY c.id
LIMIT :limit

-- name: page_by_parent
-- One page of one category's direct children in id order, after a keyset position.
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.parent_id = :parent_id AND c.id > :after_id
ORDER BY c.id
LIMIT :limit

-- name: count_all
-- How many categories there are.
SELECT count(*) FROM categories

-- name: count_by_parent
-- How many direct children a category has.
SELECT count(*) FROM categories c WHERE c.parent_id = :parent_id

-- name: children_of
-- The direct children of a batch of categories, in name order (one query for a DataLoader).
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.parent_id = ANY(:ids::bigint[])
ORDER BY c.name, c.id

-- name: products_of
-- A page of products under each of these categories (descendants included), in id order.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:ids::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT r.root_id, p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version
FROM unnest(:ids::bigint[]) AS r (root_id)
CROSS JOIN LATERAL (
    SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
           p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version
    FROM products p
    WHERE p.category_id IN (SELECT tree.id FROM tree WHERE tree.root_id = r.root_id)
      AND p.id > :after_id
    ORDER BY p.id
    LIMIT :limit
) p
ORDER BY r.root_id, p.id

-- name: count_products_of
-- How many products lie under each of these categories, descendants included.
WITH RECURSIVE tree (root_id, id) AS (
    SELECT c.id, c.id FROM categories c WHERE c.id = ANY(:ids::bigint[])
    UNION
    SELECT tree.root_id, c.id FROM tree JOIN categories c ON c.parent_id = tree.id
)
SELECT tree.root_id, count(p.id) AS products
FROM tree
LEFT JOIN products p ON p.category_id = tree.id
GROUP BY tree.root_id

-- name: insert
-- Create a category; the unique slug and the parent's foreign key refuse bad rows.
INSERT INTO categories (slug, name, parent_id)
VALUES (:slug, :name, :parent_id)
RETURNING id, slug, name, parent_id, created_at

-- name: update
-- Change the given columns (NULL keeps slug and name; :move says whether parent_id changes).
UPDATE categories c
SET slug = COALESCE(:slug, c.slug),
    name = COALESCE(:name, c.name),
    parent_id = CASE WHEN :move THEN :parent_id::bigint ELSE c.parent_id END
WHERE c.id = :id
RETURNING c.id, c.slug, c.name, c.parent_id, c.created_at

-- name: lock_tree
-- Serialize moves in the tree until commit, so two concurrent moves cannot close a cycle.
SELECT pg_advisory_xact_lock(hashtext('gateway.categories.tree'))

-- name: is_within
-- Whether :candidate is category :id itself or lies below it (moving :id there is a cycle).
WITH RECURSIVE up (id, parent_id) AS (
    SELECT c.id, c.parent_id FROM categories c WHERE c.id = :candidate
    UNION
    SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id
)
SELECT EXISTS (SELECT 1 FROM up WHERE up.id = :id)

-- name: delete
-- Delete a category; products filed under it and child categories refuse it.
DELETE FROM categories c WHERE c.id = :id RETURNING c.id
