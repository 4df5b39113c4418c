-- commerce-postgres: payment actions (capture, cancel, refund) that an order records
-- before calling the gateway (`document.payment.intent`, see commerce-orders'
-- `PaymentIntent`). The reconciliation pass lists those due through this column,
-- which a trigger derives from the document on every write, so no statement that
-- writes orders has to know about it.
ALTER TABLE commerce.orders ADD COLUMN payment_action_due_at timestamptz;

CREATE FUNCTION commerce.orders_payment_action_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.payment_action_due_at := (NEW.document #>> '{payment,intent,due_at}')::timestamptz;
    RETURN NEW;
END
$$;

CREATE TRIGGER orders_payment_action_due
    BEFORE INSERT OR UPDATE OF document ON commerce.orders
    FOR EACH ROW EXECUTE FUNCTION commerce.orders_payment_action_due();

CREATE INDEX orders_payment_action_due ON commerce.orders (payment_action_due_at, id)
    WHERE payment_action_due_at IS NOT NULL;
