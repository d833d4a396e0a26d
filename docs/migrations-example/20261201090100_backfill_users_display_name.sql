-- Worked example, expand step 2: copy `name` into rows written before step 1, in batches of
-- 1,000 ids, each committed on its own. One UPDATE of every row would hold its row locks (and
-- block the app's renames) until the end, and leave a table's worth of dead rows in one go.
-- Outside dbmate's transaction (transaction:false), so the COMMIT inside the loop is allowed;
-- the file holds this one statement only. Re-runnable: done rows are skipped.

-- migrate:up transaction:false
DO $$
DECLARE
    next_id bigint;
    last_id bigint;
BEGIN
    SELECT min(id), max(id) INTO next_id, last_id FROM users;
    WHILE next_id <= last_id LOOP
        UPDATE users SET display_name = name
        WHERE id >= next_id AND id < next_id + 1000 AND display_name IS NULL;
        COMMIT;
        next_id := next_id + 1000;
    END LOOP;
END
$$;

-- migrate:down
-- Nothing to undo: rolling back step 1 drops the column.
