-- commerce-postgres: staff's customer list (CustomerStore::list_customers): keyset
-- pages by email in byte order, searched by email prefix. Emails are stored
-- lower-cased, so the "C" collation index serves both the LIKE prefix and the
-- ordering.
CREATE INDEX customers_email_c ON commerce.customers (email COLLATE "C");
