-- Hand-written (Prisma's schema language has no functions). The same in both histories.
--
-- Claims that arrive while a write is in flight go to PostgreSQL together (src/lib/grouped.ts):
-- one statement and one commit for the batch. Each request is still open_order_claims' own, run in
-- arrival order (a claimer's later request supersedes the earlier) and in a subtransaction of its
-- own, so that one request's failure undoes only its writes and is answered to it alone.
CREATE FUNCTION "ordergate"."open_order_claims_batch"(
    -- [{ claimer_id, now, order_ids, superseded_event, claims, events }]: open_order_claims' arguments, in arrival order
    p_requests JSONB
) RETURNS TABLE ("request" INTEGER, "superseded_claim_ids" VARCHAR[], "failure" TEXT)
LANGUAGE plpgsql VOLATILE SET search_path = "ordergate", "public" AS $$
DECLARE
    v_lock BIGINT;
    v_request JSONB;
    v_position BIGINT;
BEGIN
    -- Every claimer's lock first, in one order for every batch: two batches (two instances, or two
    -- workers) never each hold a lock the other waits for. open_order_claims takes it again (a no-op).
    FOR v_lock IN
        SELECT DISTINCT hashtext('order_claim:' || (r->>'claimer_id')) FROM jsonb_array_elements(p_requests) AS r ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(v_lock);
    END LOOP;

    FOR v_request, v_position IN SELECT r, n FROM jsonb_array_elements(p_requests) WITH ORDINALITY AS rs(r, n) LOOP
        request := v_position - 1;
        BEGIN
            SELECT COALESCE(array_agg(s."superseded_claim_id"), '{}') INTO superseded_claim_ids
            FROM "open_order_claims"(
                v_request->>'claimer_id',
                (v_request->>'now')::TIMESTAMPTZ,
                ARRAY(SELECT jsonb_array_elements_text(v_request->'order_ids')),
                v_request->'superseded_event',
                v_request->'claims',
                v_request->'events') AS s;
            failure := NULL;
        EXCEPTION WHEN OTHERS THEN
            superseded_claim_ids := NULL;
            failure := SQLSTATE || ' ' || SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
