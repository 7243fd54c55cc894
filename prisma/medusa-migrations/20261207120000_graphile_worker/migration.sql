-- Hand-written (Prisma's schema language has no triggers). The same in both histories.
--
-- Delivery moves to graphile-worker (its own schema "graphile_worker", which src/db/migrate.ts
-- installs and migrates under the same advisory lock, before this migration). The outbox row stays
-- the message (topic, payload, the secret until delivered, delivered_at for the retention); the
-- job is its schedule: attempts, backoff, last error and permanent failure (parking) are
-- graphile-worker's, so those columns and the lease/parked indexes go. "attempts" stays, written
-- when the row is delivered: how many attempts that took (graphile-worker deletes completed jobs).
DROP INDEX "ordergate"."outbox_event_lease_idx";
DROP INDEX "ordergate"."outbox_event_parked_idx";
ALTER TABLE "ordergate"."outbox_event"
    DROP COLUMN "available_at", DROP COLUMN "locked_until", DROP COLUMN "parked_at", DROP COLUMN "last_error";

-- How many attempts a job gets (OUTBOX_MAX_ATTEMPTS, written by each gateway at start).
CREATE TABLE "ordergate"."outbox_setting" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "max_attempts" INTEGER NOT NULL DEFAULT 20,
    CONSTRAINT "outbox_setting_pkey" PRIMARY KEY ("id")
);
INSERT INTO "ordergate"."outbox_setting" ("id", "max_attempts") VALUES (1, 20);

-- A live worker pool's lease: jobs locked by a pool whose lease ran out (its process was killed)
-- are unlocked by the other instances (graphile-worker itself waits 4 hours).
CREATE TABLE "ordergate"."worker_lease" (
    "pool_id" VARCHAR(64) NOT NULL,
    "renewed_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "worker_lease_pkey" PRIMARY KEY ("pool_id")
);

-- Every outbox row written (by open_order_claims, the verification statement, the expiry sweep)
-- gets its job in the same transaction: one statement-level trigger, one add_jobs call. Jobs run
-- in parallel, in no queue: a subscriber's feed reads each claim as it is and never sends a status
-- after a final one, so status events need no order among themselves. The job key names the row.
CREATE FUNCTION "ordergate"."outbox_event_enqueue"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "ordergate", "public" AS $$
BEGIN
    PERFORM "graphile_worker"."add_jobs"(ARRAY(
        SELECT ROW(
            'ordergate:outbox',
            json_build_object('id', e."id"),
            NULL,
            NULL,
            (SELECT s."max_attempts" FROM "outbox_setting" AS s WHERE s."id" = 1),
            'ordergate:outbox:' || e."id",
            NULL,
            NULL
        )::"graphile_worker"."job_spec"
        FROM new_events AS e WHERE e."delivered_at" IS NULL ORDER BY e."id"));
    RETURN NULL;
END
$$;
CREATE TRIGGER "outbox_event_enqueue" AFTER INSERT ON "ordergate"."outbox_event"
REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION "ordergate"."outbox_event_enqueue"();
