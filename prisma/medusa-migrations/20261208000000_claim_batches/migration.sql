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

-- Verifications likewise: each token in arrival order, in a subtransaction of its own, with the
-- statement one verification ran alone before (a token's claim, locked; marked VERIFIED if still
-- pending; its orders moved; announced). The same token twice in a batch verifies once: the second
-- finds the claim VERIFIED, as it would have after the first's commit.
CREATE FUNCTION "ordergate"."verify_order_claims"(
    p_now TIMESTAMPTZ,
    -- CLAIM_REPLACE_ORDER_EMAIL: a moved order takes its new owner's email
    p_replace_order_email BOOLEAN,
    -- the announcement's topic and payload; "claimId" and "claimerCustomerId" are filled in here
    p_verified_event JSONB,
    -- SHA-256 of each token, in arrival order
    p_token_hashes VARCHAR[]
) RETURNS TABLE (
    "request" INTEGER, "id" VARCHAR, "status" TEXT, "expires_at" TIMESTAMPTZ, "claimer_customer_id" VARCHAR,
    "claimer_can_claim" BOOLEAN, "current_status" TEXT, "current_expires_at" TIMESTAMPTZ, "verified" BOOLEAN,
    "moved_order_ids" VARCHAR[], "failure" TEXT)
LANGUAGE plpgsql VOLATILE SET search_path = "ordergate", "public" AS $$
#variable_conflict use_column
DECLARE
    v_position INTEGER;
BEGIN
    FOR v_position IN 1 .. COALESCE(array_length(p_token_hashes, 1), 0) LOOP
        request := v_position - 1;
        id := NULL; status := NULL; expires_at := NULL; claimer_customer_id := NULL; claimer_can_claim := NULL;
        current_status := NULL; current_expires_at := NULL; verified := NULL; moved_order_ids := NULL; failure := NULL;
        BEGIN
            WITH claim AS (
                SELECT c."id", c."status", c."expires_at", c."claimer_customer_id", c."recipient_email",
                       claimer."email" AS "claimer_email",
                       claimer."deleted_at" IS NULL AND claimer."has_account" AS "claimer_can_claim"
                FROM "order_claim" AS c
                JOIN "customer" AS claimer ON claimer."id" = c."claimer_customer_id"
                WHERE c."token_hash" = p_token_hashes[v_position]),
            current AS (
                -- The claim as it is now, locked until the batch commits: a concurrent verification
                -- waits here, then sees VERIFIED. Found by primary key alone: with its status in the
                -- WHERE clause, the planner may choose to scan every pending claim.
                SELECT c."id", c."status", c."expires_at" FROM "order_claim" AS c
                WHERE c."id" = (SELECT claim."id" FROM claim WHERE claim."claimer_can_claim") FOR UPDATE),
            marked AS (
                UPDATE "order_claim" AS c SET "status" = 'VERIFIED', "verified_at" = p_now, "updated_at" = p_now
                FROM claim, current
                WHERE c."id" = current."id" AND current."status" = 'PENDING' AND current."expires_at" > p_now
                RETURNING c."id", c."claimer_customer_id", c."recipient_email", claim."claimer_email"),
            moved AS (
                UPDATE "order" AS o
                SET "customer_id" = marked."claimer_customer_id", "updated_at" = p_now,
                    "email" = CASE WHEN p_replace_order_email THEN marked."claimer_email" ELSE o."email" END
                FROM marked JOIN "order_claim_order" AS link ON link."claim_id" = marked."id"
                -- Its email exactly as when the claim was opened (no case mapping in SQL: see the
                -- claim_policy migration), not canceled, and in no account since (design.md §3).
                WHERE link."order_id" = o."id" AND o."email" = link."order_email" AND o."status" <> 'canceled'
                  AND NOT EXISTS (SELECT FROM "customer" AS owner
                                  WHERE owner."id" = o."customer_id" AND owner."has_account")
                RETURNING o."id"),
            linked AS (
                UPDATE "order_claim_order" AS link SET "transferred_at" = p_now
                FROM marked, moved WHERE link."claim_id" = marked."id" AND link."order_id" = moved."id"),
            announced AS (
                INSERT INTO "outbox_event" ("topic", "payload")
                SELECT p_verified_event->>'topic', (p_verified_event->'payload')
                       || jsonb_build_object('claimId', marked."id", 'claimerCustomerId', marked."claimer_customer_id")
                FROM marked)
            SELECT claim."id", claim."status"::TEXT, claim."expires_at", claim."claimer_customer_id",
                   claim."claimer_can_claim", current."status"::TEXT, current."expires_at",
                   EXISTS (SELECT FROM marked), ARRAY(SELECT moved."id" FROM moved ORDER BY moved."id")
            INTO id, status, expires_at, claimer_customer_id, claimer_can_claim, current_status, current_expires_at,
                 verified, moved_order_ids
            FROM claim LEFT JOIN current ON true;
        EXCEPTION WHEN OTHERS THEN
            failure := SQLSTATE || ' ' || SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
