-- name: page_by_id
-- One page of products in id order, after a keyset position; fetch limit + 1 to see if more follow.
SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version
FROM products p
WHERE p.id > :after_id
ORDER BY p.id
LIMIT :limit

-- name: by_id
-- One product with its category embedded by a join.
SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version,
       c.slug AS category_slug, c.name AS category_name, c.parent_id AS category_parent_id,
       c.created_at AS category_created_at
FROM products p
JOIN categories c ON c.id = p.category_id
WHERE p.id = :id

-- name: count_all
-- How many products there are.
SELECT count(*) FROM products
