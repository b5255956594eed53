-- name: row_counts
-- Rows in each domain table, so seeding can refuse to mix with existing data.
SELECT (SELECT count(*) FROM products)     AS products,
       (SELECT count(*) FROM categories)   AS categories,
       (SELECT count(*) FROM users)        AS users,
       (SELECT count(*) FROM tags)         AS tags,
       (SELECT count(*) FROM product_tags) AS product_tags,
       (SELECT count(*) FROM reviews)      AS reviews,
       (SELECT count(*) FROM orders)       AS orders,
       (SELECT count(*) FROM order_items)  AS order_items

-- name: truncate
-- Empty every domain table and restart its identity (seed --reset); schema_migrations stays.
TRUNCATE users, categories, products, tags, product_tags, reviews, orders, order_items
    RESTART IDENTITY CASCADE

-- name: reset_identities
-- Move each identity sequence past the largest id, after COPY wrote explicit ids.
SELECT setval(pg_get_serial_sequence('users', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM users), false)      AS users,
       setval(pg_get_serial_sequence('categories', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM categories), false) AS categories,
       setval(pg_get_serial_sequence('products', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM products), false)   AS products,
       setval(pg_get_serial_sequence('tags', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM tags), false)       AS tags,
       setval(pg_get_serial_sequence('reviews', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM reviews), false)    AS reviews,
       setval(pg_get_serial_sequence('orders', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM orders), false)     AS orders

-- name: has_data
-- Whether any domain table holds a row (start-up seeds demo data only into an empty database).
SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM categories)
    OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM tags)
    OR EXISTS (SELECT 1 FROM product_tags) OR EXISTS (SELECT 1 FROM reviews)
    OR EXISTS (SELECT 1 FROM orders) OR EXISTS (SELECT 1 FROM order_items)
