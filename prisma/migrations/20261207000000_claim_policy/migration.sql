-- Hand-written (Prisma's schema language has no functions). The same in both histories.
--
-- A claim records each order's email as it was when the claim was opened, so that confirmation
-- moves only orders whose email has not changed since: an exact comparison of stored text, with
-- no case mapping in SQL (PostgreSQL's lower() depends on the database's locale; in the C locale
-- it changes ASCII only, so it cannot agree with the gateway's Unicode lower-casing).
ALTER TABLE "ordergate"."order_claim_order" ADD COLUMN "order_email" VARCHAR;
UPDATE "ordergate"."order_claim_order" AS link
SET "order_email" = COALESCE((SELECT o."email" FROM "public"."order" AS o WHERE o."id" = link."order_id"), '');
ALTER TABLE "ordergate"."order_claim_order" ALTER COLUMN "order_email" SET NOT NULL;

-- As before (prisma/migrations/20261202100000_claim_hot_path), and each link now stores the
-- order's email: `orders` [{ id, email }] per claim, as the gateway read them. A caller that
-- still sends only `order_ids` (an older instance during a rolling deploy) gets the order's
-- current email.
CREATE OR REPLACE FUNCTION "ordergate"."open_order_claims"(
    p_claimer_id VARCHAR,
    p_now TIMESTAMPTZ,
    -- every order being claimed: the claimer's pending claims that cover any are superseded
    p_order_ids VARCHAR[],
    -- { topic, payload } announcing a superseded claim; "claimId" is filled in here
    p_superseded_event JSONB,
    -- [{ id, recipient_email, token_hash, expires_at, orders: [{ id, email }] }]
    p_claims JSONB,
    -- [{ topic, payload, secret? }], written in this order (the dispatcher sends in id order)
    p_events JSONB
) RETURNS TABLE ("superseded_claim_id" VARCHAR)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET search_path = "ordergate", "public" AS $$
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
        INSERT INTO "order_claim_order" ("claim_id", "order_id", "order_email")
        SELECT claim->>'id', linked."id", COALESCE(linked."email", (SELECT o."email" FROM "order" AS o WHERE o."id" = linked."id"))
        FROM jsonb_array_elements(p_claims) AS claim
        CROSS JOIN LATERAL jsonb_to_recordset(
            COALESCE(claim->'orders', (SELECT jsonb_agg(jsonb_build_object('id', id)) FROM jsonb_array_elements_text(claim->'order_ids') AS id))
        ) AS linked("id" VARCHAR, "email" VARCHAR)
    )
    INSERT INTO "outbox_event" ("topic", "payload", "secret")
    SELECT event->>'topic', event->'payload', event->'secret'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS events(event, position) ORDER BY position;
END
$$;
