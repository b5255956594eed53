-- name: by_ids
-- The categories with these ids (one batched query for a DataLoader or an include).
SELECT c.id, c.slug, c.name, c.parent_id, c.created_at
FROM categories c
WHERE c.id = ANY(:ids::bigint[])
