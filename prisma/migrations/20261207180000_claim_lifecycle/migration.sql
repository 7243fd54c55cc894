-- Hand-written (Prisma's schema language has no functions). The same in both histories.
--
-- The whole lifecycle (design.md §3): the recipient may decline a claim, the claimer may cancel
-- it, and a claim may be opened by naming an address instead of orders (`by_email`).
ALTER TYPE "ordergate"."order_claim_status" ADD VALUE IF NOT EXISTS 'DECLINED';
ALTER TYPE "ordergate"."order_claim_status" ADD VALUE IF NOT EXISTS 'CANCELED';
ALTER TABLE "ordergate"."order_claim" ADD COLUMN "by_email" BOOLEAN NOT NULL DEFAULT false;

-- As before (20261207000000_claim_policy), and a claim by email (`by_email` in p_claims)
-- supersedes the claimer's pending claims to the same address, whether or not they cover orders:
-- a claim of an address without orders is replaced exactly as one with them. A caller without
-- `by_email` (an older instance during a rolling deploy) opens claims by order ids.
CREATE OR REPLACE FUNCTION "ordergate"."open_order_claims"(
    p_claimer_id VARCHAR,
    p_now TIMESTAMPTZ,
    -- every order being claimed: the claimer's pending claims that cover any are superseded
    p_order_ids VARCHAR[],
    -- { topic, payload } announcing a superseded claim; "claimId" is filled in here
    p_superseded_event JSONB,
    -- [{ id, recipient_email, token_hash, expires_at, by_email?, orders: [{ id, email }] }]
    p_claims JSONB,
    -- [{ topic, payload, secret? }], written in this order
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
        SELECT link."claim_id" FROM "order_claim_order" AS link WHERE link."order_id" = ANY(p_order_ids)
        UNION
        SELECT claim."id" FROM "order_claim" AS claim
        WHERE claim."claimer_customer_id" = p_claimer_id AND claim."status" = 'PENDING'
          AND claim."recipient_email" IN (SELECT opened->>'recipient_email' FROM jsonb_array_elements(p_claims) AS opened
                                          WHERE COALESCE((opened->>'by_email')::BOOLEAN, false))
        ORDER BY 1
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
        INSERT INTO "order_claim" ("id", "claimer_customer_id", "recipient_email", "status", "token_hash", "expires_at", "by_email", "created_at", "updated_at")
        SELECT claim."id", p_claimer_id, claim."recipient_email", 'PENDING', claim."token_hash", claim."expires_at", COALESCE(claim."by_email", false), p_now, p_now
        FROM jsonb_to_recordset(p_claims) AS claim("id" VARCHAR, "recipient_email" VARCHAR, "token_hash" CHAR(64), "expires_at" TIMESTAMPTZ, "by_email" BOOLEAN)
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
