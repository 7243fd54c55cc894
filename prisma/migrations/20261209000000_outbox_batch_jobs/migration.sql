-- Hand-written (Prisma's schema language has no triggers). The same in both histories.
--
-- One job per writing transaction instead of one per outbox row. graphile-worker's add_jobs costs
-- about half a millisecond of PostgreSQL's CPU per call whatever it adds, and every job is then
-- fetched, locked and deleted on its own: with a claim writing three rows in two statements, that
-- was two calls and three jobs per claim, more than the claim's own writes. Now a statement only
-- notes its rows' ids (a setting local to the transaction: a subtransaction that fails takes its
-- ids back with its rows); at commit the first of a deferred trigger's firings adds one job whose
-- payload is every noted id, a graphile-worker "batch job" (the task answers for each id; only
-- those that failed are retried, and parked, together).
DROP TRIGGER "outbox_event_enqueue" ON "ordergate"."outbox_event";
DROP FUNCTION "ordergate"."outbox_event_enqueue"();

CREATE FUNCTION "ordergate"."outbox_event_note"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "ordergate", "public" AS $$
DECLARE
    v_ids TEXT;
BEGIN
    SELECT string_agg(e."id"::TEXT, ',' ORDER BY e."id") INTO v_ids FROM new_events AS e WHERE e."delivered_at" IS NULL;
    IF v_ids IS NOT NULL THEN
        PERFORM set_config('ordergate.outbox_unqueued',
            concat_ws(',', NULLIF(current_setting('ordergate.outbox_unqueued', true), ''), v_ids), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER "outbox_event_note" AFTER INSERT ON "ordergate"."outbox_event"
REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION "ordergate"."outbox_event_note"();

-- Generic plans: add_jobs' statements are otherwise planned again at every call (twice the cost).
CREATE FUNCTION "ordergate"."outbox_event_queue"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "ordergate", "public" SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_ids TEXT := current_setting('ordergate.outbox_unqueued', true);
BEGIN
    IF v_ids IS NULL OR v_ids = '' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('ordergate.outbox_unqueued', '', true);
    PERFORM "graphile_worker"."add_jobs"(ARRAY[ROW(
        'ordergate:outbox',
        to_json(string_to_array(v_ids, ',')),
        NULL,
        NULL,
        (SELECT s."max_attempts" FROM "outbox_setting" AS s WHERE s."id" = 1),
        NULL,
        NULL,
        NULL
    )::"graphile_worker"."job_spec"]);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER "outbox_event_queue" AFTER INSERT ON "ordergate"."outbox_event"
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "ordergate"."outbox_event_queue"();

-- The outbox rows a job delivers: its payload, an array of row ids, or {"id": n} for a job added
-- before this migration (one per row). graphile-worker's `jobs` view leaves payloads out, so this
-- reads its table, and only here (metrics, parking and re-queueing look jobs up through it).
CREATE FUNCTION "ordergate"."outbox_job_event_ids"(p_job_id BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE AS $$
    SELECT (item #>> '{}')::BIGINT
    FROM "graphile_worker"."_private_jobs" AS j,
         json_array_elements(CASE WHEN json_typeof(j."payload") = 'array' THEN j."payload"
                                  ELSE json_build_array(j."payload" -> 'id') END) AS item
    WHERE j."id" = p_job_id
$$;
