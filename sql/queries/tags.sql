-- name: by_id
-- One tag by id.
SELECT t.id, t.name FROM tags t WHERE t.id = :id

-- name: count_all
-- How many tags there are.
SELECT count(*) FROM tags

-- name: insert
-- Create a tag; the unique name refuses a duplicate.
INSERT INTO tags (name) VALUES (:name) RETURNING id, name

-- name: delete
-- Delete a tag; its links to products cascade.
DELETE FROM tags t WHERE t.id = :id RETURNING t.id

-- name: of_products
-- The tags of a batch of products, in name order (one query for a DataLoader).
SELECT pt.product_id, t.id, t.name
FROM product_tags pt
JOIN tags t ON t.id = pt.tag_id
WHERE pt.product_id = ANY(:ids::bigint[])
ORDER BY t.name
