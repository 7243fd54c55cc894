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
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('order_claim:' || p_claimer_id));

    RETURN QUERY
    WITH superseded AS (
        UPDATE "order_claim" SET "status" = 'SUPERSEDED', "updated_at" = p_now
        WHERE "claimer_customer_id" = p_claimer_id AND "status" = 'PENDING'
          AND "id" IN (SELECT "claim_id" FROM "order_claim_order" WHERE "order_id" = ANY(p_order_ids))
        RETURNING "id"
    ), announced AS (
        INSERT INTO "outbox_event" ("topic", "payload")
        SELECT p_superseded_event->>'topic', (p_superseded_event->'payload') || jsonb_build_object('claimId', superseded."id")
        FROM superseded ORDER BY superseded."id"
    )
    SELECT superseded."id" FROM superseded ORDER BY superseded."id";

    INSERT INTO "order_claim" ("id", "claimer_customer_id", "recipient_email", "status", "token_hash", "expires_at", "created_at", "updated_at")
    SELECT claim."id", p_claimer_id, claim."recipient_email", 'PENDING', claim."token_hash", claim."expires_at", p_now, p_now
    FROM jsonb_to_recordset(p_claims) AS claim("id" VARCHAR, "recipient_email" VARCHAR, "token_hash" CHAR(64), "expires_at" TIMESTAMPTZ);

    INSERT INTO "order_claim_order" ("claim_id", "order_id")
    SELECT claim->>'id', jsonb_array_elements_text(claim->'order_ids') FROM jsonb_array_elements(p_claims) AS claim;

    INSERT INTO "outbox_event" ("topic", "payload", "secret")
    SELECT event->>'topic', event->'payload', event->'secret'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS events(event, position) ORDER BY position;
END
$$;
