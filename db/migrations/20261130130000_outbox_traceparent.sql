-- The W3C trace context (traceparent) of the request that wrote an event, NULL unless tracing is
-- on: the relay puts it into the envelope, so a consumer can continue the trace. Adding a
-- nullable column without a default only changes the catalogue: no rewrite, no long lock. The
-- table-level grants of app_user cover the new column.

-- migrate:up
ALTER TABLE outbox ADD COLUMN traceparent text;

-- migrate:down
ALTER TABLE outbox DROP COLUMN traceparent;
