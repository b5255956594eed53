-- name: by_ids
-- Reviews by id, each with its author's public profile embedded by a join.
SELECT r.id, r.product_id, r.author_id, u.display_name AS author_display_name,
       r.rating, r.title, r.body, r.created_at, r.updated_at
FROM reviews r
JOIN users u ON u.id = r.author_id
WHERE r.id = ANY(:ids::bigint[])

-- name: product_review_count
-- A product's review count, or no row when the product does not exist.
SELECT p.review_count FROM products p WHERE p.id = :product_id

-- name: insert
-- Create a review; the unique (product_id, author_id) key refuses a second one by the same author.
WITH created AS (
    INSERT INTO reviews (product_id, author_id, rating, title, body)
    VALUES (:product_id, :author_id, :rating, :title, :body)
    RETURNING id, product_id, author_id, rating, title, body, created_at, updated_at
)
SELECT c.id, c.product_id, c.author_id, u.display_name AS author_display_name,
       c.rating, c.title, c.body, c.created_at, c.updated_at
FROM created c
JOIN users u ON u.id = c.author_id

-- name: update_own
-- Change the given fields (NULL keeps a field) of a review, only when :author_id wrote it.
WITH changed AS (
    UPDATE reviews
    SET rating = COALESCE(:rating::smallint, rating),
        title = COALESCE(:title::text, title),
        body = COALESCE(:body::text, body),
        updated_at = now()
    WHERE id = :id AND author_id = :author_id
    RETURNING id, product_id, author_id, rating, title, body, created_at, updated_at
)
SELECT c.id, c.product_id, c.author_id, u.display_name AS author_display_name,
       c.rating, c.title, c.body, c.created_at, c.updated_at
FROM changed c
JOIN users u ON u.id = c.author_id

-- name: delete
-- Delete a review if :user_id wrote it or the caller is an admin; returns its id and its
-- product's when deleted.
DELETE FROM reviews
WHERE id = :id AND (author_id = :user_id OR :is_admin::boolean)
RETURNING id, product_id

-- name: products_by_ids
-- Products by id for the DataLoader behind Review.product and OrderItem.product.
SELECT p.id, p.sku, p.name, p.description, p.price, p.stock, p.category_id,
       p.review_count, p.rating_avg, p.created_at, p.updated_at, p.version
FROM products p
WHERE p.id = ANY(:ids::bigint[])
