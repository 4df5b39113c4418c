-- commerce-postgres: account credentials and password reset tokens.
--
-- A password is kept only as its argon2id PHC string; a reset token only as the
-- SHA-256 digest of the token mailed to the customer. Taking a token is one
-- `DELETE ... RETURNING`, so it is used at most once whatever the concurrency.
CREATE TABLE commerce.credentials (
    customer_id     uuid PRIMARY KEY,
    password_hash   text NOT NULL,
    email_verified  boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE commerce.password_reset_tokens (
    digest       bytea PRIMARY KEY CHECK (length(digest) = 32),
    customer_id  uuid NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX password_reset_tokens_expires ON commerce.password_reset_tokens (expires_at);
