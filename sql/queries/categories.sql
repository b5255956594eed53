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

-- name: ancestors_of
-- The categories above each of a batch of categories, top of the tree first (one query for a DataLoader).
WITH RECURSIVE up (category_id, id, depth) AS (
    SELECT c.id, c.parent_id, 1 FROM categories c
    WHERE c.id = ANY(:ids::bigint[]) AND c.parent_id IS NOT NULL
    UNION ALL
    SELECT up.category_id, c.parent_id, up.depth + 1 FROM up
    JOIN categories c ON c.id = up.id
    WHERE c.parent_id IS NOT NULL
)
SELECT up.category_id, c.id, c.slug, c.name, c.parent_id, c.created_at
FROM up
JOIN categories c ON c.id = up.id
ORDER BY up.category_id, up.depth DESC

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
