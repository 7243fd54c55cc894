-- Hand-written (Prisma's schema language has no functions). The same in both histories.
--
-- The claim path's statements as PostgreSQL ran them under load (`npm run bench`, pg_stat_statements
-- and EXPLAIN of their cached plans):
--
-- 1. open_order_claims found the claims to supersede among every claim ever linked to the orders
--    being claimed, and locked each one (FOR UPDATE, a write to every row) before looking at whose
--    it was: after a minute of the bench, 6.5 row locks per claim, growing with the orders' history.
--    It now takes only the claimer's pending claims among them. Under the claimer's advisory lock no
--    pending claim of theirs can appear meanwhile, and each is still locked and read again before it
--    is superseded (a verification may end it first).
-- 2. claimable_orders: the claim's read of the orders asked for with each claimer's account, which
--    ran as a prepared statement that PostgreSQL chose to plan again at every batch (0.35-0.65 ms,
--    more than running it). In a function its plan is generic: planned once per connection.

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
        -- From the orders' links, each claim looked up by key (a subquery the planner cannot turn
        -- into a join): driven from the claimer's pending claims instead, the generic plan read
        -- every one of them (hundreds, after a minute of the bench).
        SELECT link."claim_id" FROM "order_claim_order" AS link
        WHERE link."order_id" = ANY(p_order_ids)
          AND (SELECT claim."claimer_customer_id" = p_claimer_id AND claim."status" = 'PENDING'
               FROM "order_claim" AS claim WHERE claim."id" = link."claim_id")
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

-- For each request (a claimer, at its position in p_claimer_ids), the orders it asked for that the
-- claimer may claim (design.md §3, "Whose orders can be claimed": not canceled, not the claimer's
-- own, in no account), oldest first, each row with the claimer's has_account; a request whose
-- claimer is gone or deleted has no row, one whose orders are none has one row of null order.
CREATE FUNCTION "ordergate"."claimable_orders"(
    p_claimer_ids VARCHAR[],
    -- for each order id asked for, the position (from 1) of the request that asked
    p_order_requests INTEGER[],
    p_order_ids VARCHAR[]
) RETURNS TABLE ("request" BIGINT, "has_account" BOOLEAN, "id" VARCHAR, "email" VARCHAR, "display_id" INTEGER)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET search_path = "ordergate", "public" AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT a."request", c."has_account", o."id", o."email", o."display_id"
    FROM unnest(p_claimer_ids) WITH ORDINALITY AS a("customer_id", "request")
    -- By key, one request at a time, whatever the customer table's size or statistics: the LIMIT
    -- keeps the lookup a subquery of its own, and "deleted_at" is tested outside it, where it
    -- cannot make a partial index on live customers look like the cheaper path.
    CROSS JOIN LATERAL (SELECT c."id", c."has_account", c."deleted_at" FROM "customer" AS c
                        WHERE c."id" = a."customer_id" LIMIT 1) AS c
    LEFT JOIN (unnest(p_order_requests, p_order_ids) AS w("request", "order_id")
               JOIN "order" AS o ON o."id" = w."order_id")
      ON w."request" = a."request" AND o."status" <> 'canceled' AND o."customer_id" <> c."id"
         AND NOT EXISTS (SELECT FROM "customer" AS owner WHERE owner."id" = o."customer_id" AND owner."has_account")
    WHERE c."deleted_at" IS NULL
    ORDER BY a."request", o."display_id";
END
$$;
