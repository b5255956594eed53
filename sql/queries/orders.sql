-- name: visible_by_id
-- One order with its customer's public profile and total, if it is :user_id's or the caller is an admin.
SELECT o.id, o.customer_id, u.display_name AS customer_display_name, o.status,
       (SELECT COALESCE(sum(i.quantity * i.unit_price), 0)
        FROM order_items i WHERE i.order_id = o.id) AS total,
       o.created_at, o.updated_at
FROM orders o
JOIN users u ON u.id = o.customer_id
WHERE o.id = :id AND (o.customer_id = :user_id OR :is_admin::boolean)

-- name: count_for_customer
-- How many orders a customer has, optionally of one status.
SELECT count(*) FROM orders o
WHERE o.customer_id = :customer_id AND (:status::text IS NULL OR o.status = :status)

-- name: count_all
-- How many orders there are (admin), optionally of one status.
SELECT count(*) FROM orders o WHERE (:status::text IS NULL OR o.status = :status)

-- name: items_for_orders
-- The lines of a batch of orders with each product's current name, in product id order.
SELECT i.order_id, i.product_id, p.name AS product_name, i.quantity, i.unit_price
FROM order_items i
JOIN products p ON p.id = i.product_id
WHERE i.order_id = ANY(:ids::bigint[])
ORDER BY i.order_id, i.product_id

-- name: lock_products
-- Lock the ordered products in id order (so concurrent orders never deadlock) and read their stock.
SELECT p.id, p.name, p.price, p.stock
FROM products p
WHERE p.id = ANY(:ids::bigint[])
ORDER BY p.id
FOR NO KEY UPDATE

-- name: insert
-- Create a pending order for a customer; returns it with the customer's public profile.
WITH created AS (
    INSERT INTO orders (customer_id) VALUES (:customer_id)
    RETURNING id, customer_id, status, created_at, updated_at
)
SELECT c.id, c.customer_id, u.display_name AS customer_display_name, c.status,
       c.created_at, c.updated_at
FROM created c
JOIN users u ON u.id = c.customer_id

-- name: insert_items
-- Add an order's lines from parallel arrays of product ids, quantities and unit prices.
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT :order_id, line.product_id, line.quantity, line.unit_price
FROM unnest(:product_ids::bigint[], :quantities::integer[], :unit_prices::numeric[])
     AS line (product_id, quantity, unit_price)

-- name: take_stock
-- Take ordered units out of stock, never below zero; returns the ids of the products taken from.
UPDATE products p
SET stock = p.stock - line.quantity
FROM unnest(:product_ids::bigint[], :quantities::integer[]) AS line (product_id, quantity)
WHERE p.id = line.product_id AND p.stock >= line.quantity
RETURNING p.id

-- name: lock_own
-- Lock a customer's own order and read its status; no row when it is not theirs or absent.
SELECT o.status FROM orders o
WHERE o.id = :id AND o.customer_id = :customer_id
FOR UPDATE

-- name: lock_any
-- Lock any order (admin) and read its status; no row when it does not exist.
SELECT o.status FROM orders o WHERE o.id = :id FOR UPDATE

-- name: lock_order_products
-- Lock the products of an order's lines in id order, before their stock goes back.
SELECT p.id
FROM products p
JOIN order_items i ON i.product_id = p.id
WHERE i.order_id = :order_id
ORDER BY p.id
FOR NO KEY UPDATE OF p

-- name: restore_stock
-- Put an order's units back in stock (the order is being cancelled).
UPDATE products p
SET stock = p.stock + i.quantity
FROM order_items i
WHERE i.order_id = :order_id AND p.id = i.product_id

-- name: set_status
-- Move an order to a status; returns it with the customer's public profile and total.
WITH changed AS (
    UPDATE orders SET status = :status, updated_at = now()
    WHERE id = :id
    RETURNING id, customer_id, status, created_at, updated_at
)
SELECT c.id, c.customer_id, u.display_name AS customer_display_name, c.status,
       (SELECT COALESCE(sum(i.quantity * i.unit_price), 0)
        FROM order_items i WHERE i.order_id = c.id) AS total,
       c.created_at, c.updated_at
FROM changed c
JOIN users u ON u.id = c.customer_id
