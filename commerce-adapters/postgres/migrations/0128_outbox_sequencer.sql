-- The outbox sequencer as one statement (issue 13, finding 10). Stamping positions
-- used to run inside every claim's transaction, so the sequencer lock (a
-- transaction-level advisory lock) was held across the claim's client round trips:
-- reading up to a thousand events, updating the group, committing. Under the soak's
-- load every claim of every group on every instance queued behind it (twenty
-- sessions waiting on the lock at a time). Called on its own (autocommit), this
-- function holds the lock only while its UPDATE runs; the claim then reads the
-- stamped rows in a transaction of its own, without the lock.
--
-- Returns the rows stamped. Takes no lock when no committed row waits for a
-- position. Each statement of a plpgsql function gets a new snapshot (read
-- committed), so the UPDATE, run after the lock is granted, sees every row
-- committed before, including the positions the previous sequencer stamped.
CREATE FUNCTION commerce.outbox_sequence(lock_key bigint, batch bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    stamped bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM commerce.outbox WHERE seq IS NULL) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(lock_key);
    UPDATE commerce.outbox o
       SET seq = base.last + fresh.n
      FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
              FROM (SELECT id FROM commerce.outbox WHERE seq IS NULL ORDER BY id LIMIT batch) f) fresh,
           (SELECT COALESCE(max(seq), 0) AS last FROM commerce.outbox) base
     WHERE o.id = fresh.id;
    GET DIAGNOSTICS stamped = ROW_COUNT;
    RETURN stamped;
END
$$;
