-- Hand-written (Prisma's schema language has no functions).
-- Opens a claimer's claims in one round trip: the claim hot path was seven statements, each a
-- round trip between the gateway and PostgreSQL. What to write (ids, token hashes, payloads) is
-- decided by the gateway's ClaimService; this only writes it, atomically.
--
-- The advisory lock serialises one claimer's concurrent requests (the key is the one the
-- gateway's transactions used before, so old and new instances exclude each other during a
-- rolling deploy). In READ COMMITTED every statement of a VOLATILE function takes a new
-- snapshot, so the supersede below, run after the lock is held, sees every claim that an
-- earlier request committed: the newest request wins even when requests race. Returns the ids
-- of the claims superseded.
--
-- Generic plans (planned once per connection, not per call: planning cost more than running).
-- The supersede walks the claimed orders' links and updates each claim by primary key: as one
-- UPDATE with a subquery, the planner read all of the claimer's pending claims, or, with the
-- statistics of a young table, every pending claim there is.
CREATE FUNCTION "open_order_claims"(
    p_claimer_id VARCHAR,
    p_now TIMESTAMPTZ,
    -- every order being claimed: the claimer's pending claims that cover any are superseded
    p_order_ids VARCHAR[],
    -- { topic, payload } announcing a superseded claim; "claimId" is filled in here
    p_superseded_event JSONB,
    -- [{ id, recipient_email, token_hash, expires_at, order_ids: [...] }]
    p_claims JSONB,
    -- [{ topic, payload, secret? }], written in this order (the dispatcher sends in id order)
    p_events JSONB
) RETURNS TABLE ("superseded_claim_id" VARCHAR)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_claim_id VARCHAR;
    v_claimer_id VARCHAR;
    v_status "order_claim_status";
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('order_claim:' || p_claimer_id));

    FOR v_claim_id IN
        SELECT DISTINCT link."claim_id" FROM "order_claim_order" AS link WHERE link."order_id" = ANY(p_order_ids) ORDER BY 1
    LOOP
        -- By primary key alone: with the claimer and status in the WHERE clause, young statistics
        -- led the planner to scan the status index instead.
        SELECT claim."claimer_customer_id", claim."status" INTO v_claimer_id, v_status
        FROM "order_claim" AS claim WHERE claim."id" = v_claim_id FOR UPDATE;
        IF v_claimer_id = p_claimer_id AND v_status = 'PENDING' THEN
            UPDATE "order_claim" SET "status" = 'SUPERSEDED', "updated_at" = p_now WHERE "id" = v_claim_id;
            INSERT INTO "outbox_event" ("topic", "payload")
            VALUES (p_superseded_event->>'topic', (p_superseded_event->'payload') || jsonb_build_object('claimId', v_claim_id));
            superseded_claim_id := v_claim_id;
            RETURN NEXT;
        END IF;
    END LOOP;

    WITH claims AS (
        INSERT INTO "order_claim" ("id", "claimer_customer_id", "recipient_email", "status", "token_hash", "expires_at", "created_at", "updated_at")
        SELECT claim."id", p_claimer_id, claim."recipient_email", 'PENDING', claim."token_hash", claim."expires_at", p_now, p_now
        FROM jsonb_to_recordset(p_claims) AS claim("id" VARCHAR, "recipient_email" VARCHAR, "token_hash" CHAR(64), "expires_at" TIMESTAMPTZ)
    ), links AS (
        INSERT INTO "order_claim_order" ("claim_id", "order_id")
        SELECT claim->>'id', jsonb_array_elements_text(claim->'order_ids') FROM jsonb_array_elements(p_claims) AS claim
    )
    INSERT INTO "outbox_event" ("topic", "payload", "secret")
    SELECT event->>'topic', event->'payload', event->'secret'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS events(event, position) ORDER BY position;
END
$$;
