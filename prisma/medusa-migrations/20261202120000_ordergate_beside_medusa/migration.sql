-- ordergate beside a Medusa v1 store, in one step: its own objects, in the PostgreSQL schema
-- "ordergate", as prisma/migrations leave them on ordergate's own database, without what would touch
-- Medusa's tables: no foreign keys into them (a key would put triggers on Medusa's "order" and
-- "customer" and hold back Medusa's own deletes), no index on them. Medusa's customer, address,
-- order and line_item are used as Medusa made them. A change to ordergate's own objects is made in
-- both histories; test/medusa-attach.test.ts compares what they build.
CREATE TYPE "ordergate"."order_claim_status" AS ENUM ('PENDING', 'VERIFIED', 'EXPIRED', 'SUPERSEDED');

CREATE TABLE "ordergate"."order_claim" (
    "id" VARCHAR NOT NULL,
    "claimer_customer_id" VARCHAR NOT NULL,
    "recipient_email" VARCHAR NOT NULL,
    "status" "ordergate"."order_claim_status" NOT NULL DEFAULT 'PENDING',
    "token_hash" CHAR(64) NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "verified_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_claim_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ordergate"."order_claim_order" (
    "claim_id" VARCHAR NOT NULL,
    "order_id" VARCHAR NOT NULL,
    "transferred_at" TIMESTAMPTZ(6),

    CONSTRAINT "order_claim_order_pkey" PRIMARY KEY ("claim_id","order_id")
);

CREATE TABLE "ordergate"."outbox_event" (
    "id" BIGSERIAL NOT NULL,
    "topic" VARCHAR NOT NULL,
    "payload" JSONB NOT NULL,
    "secret" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "available_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMPTZ(6),
    "delivered_at" TIMESTAMPTZ(6),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "parked_at" TIMESTAMPTZ(6),

    CONSTRAINT "outbox_event_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ordergate"."customer_session" (
    "id" CHAR(64) NOT NULL,
    "customer_id" VARCHAR NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_session_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "order_claim_token_hash_key" ON "ordergate"."order_claim"("token_hash");
CREATE INDEX "order_claim_claimer_customer_id_status_idx" ON "ordergate"."order_claim"("claimer_customer_id", "status");
CREATE INDEX "order_claim_status_expires_at_idx" ON "ordergate"."order_claim"("status", "expires_at");
CREATE INDEX "order_claim_order_order_id_idx" ON "ordergate"."order_claim_order"("order_id");
CREATE INDEX "customer_session_customer_id_idx" ON "ordergate"."customer_session"("customer_id");
CREATE INDEX "customer_session_expires_at_idx" ON "ordergate"."customer_session"("expires_at");
CREATE INDEX "outbox_event_lease_idx" ON "ordergate"."outbox_event"("id") WHERE "delivered_at" IS NULL AND "parked_at" IS NULL;
CREATE INDEX "outbox_event_parked_idx" ON "ordergate"."outbox_event"("id") WHERE "parked_at" IS NOT NULL;
CREATE INDEX "outbox_event_delivered_idx" ON "ordergate"."outbox_event"("delivered_at") WHERE "delivered_at" IS NOT NULL;

ALTER TABLE "ordergate"."order_claim_order" ADD CONSTRAINT "order_claim_order_claim_id_fkey" FOREIGN KEY ("claim_id") REFERENCES "ordergate"."order_claim"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The claim hot path (see prisma/migrations/20261202100000_claim_hot_path).
CREATE FUNCTION "ordergate"."open_order_claims"(
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
        INSERT INTO "order_claim_order" ("claim_id", "order_id")
        SELECT claim->>'id', jsonb_array_elements_text(claim->'order_ids') FROM jsonb_array_elements(p_claims) AS claim
    )
    INSERT INTO "outbox_event" ("topic", "payload", "secret")
    SELECT event->>'topic', event->'payload', event->'secret'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS events(event, position) ORDER BY position;
END
$$;
