-- How many times a delivery's claim was taken over to send the message again (a
-- send cut by a crash, on a channel whose provider collapses resends: email by
-- Message-ID). `DeliveryLog::take_over` increments it with the new claim time.
ALTER TABLE commerce.notification_deliveries
    ADD COLUMN resends integer NOT NULL DEFAULT 0;
