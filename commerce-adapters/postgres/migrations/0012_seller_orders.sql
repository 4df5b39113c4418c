-- commerce-postgres: orders by seller (`OrderStore::list_for_seller`) and staff's
-- list of every order, newest first.
--
-- A line snapshots its seller in the order document; a seller's orders are found
-- by containment on the document's lines, which this index serves.
CREATE INDEX orders_lines_sellers ON commerce.orders USING gin ((document->'lines') jsonb_path_ops);
