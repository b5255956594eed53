-- Keyset indexes for the product list's sort orders (DESIGN §4). Each (key, id) index
-- serves its order in both directions, so a page at any depth reads `limit` rows instead
-- of sorting the whole table (10k products at the bench scale). id order has the primary
-- key. The rating order sorts unrated products as 0, so its index is on that expression.
-- review_count and rating change with every review (by trigger), which costs those updates
-- their HOT path; sorted list reads are the hotter side.
CREATE INDEX products_price_id_idx ON products (price, id);
CREATE INDEX products_name_id_idx ON products (name, id);
CREATE INDEX products_created_at_id_idx ON products (created_at, id);
CREATE INDEX products_rating_id_idx ON products ((COALESCE(rating_avg, 0)), id);
CREATE INDEX products_review_count_id_idx ON products (review_count, id);
