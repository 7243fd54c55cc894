-- AlterTable
ALTER TABLE "outbox_event" ADD COLUMN     "parked_at" TIMESTAMPTZ(6);

-- CreateIndex
CREATE INDEX "customer_session_expires_at_idx" ON "customer_session"("expires_at");

-- Hand-written (Prisma's schema language cannot express partial indexes):
-- The dispatcher leases due rows in id order among the undelivered, unparked ones; this index
-- holds only those, so leasing stays a short index scan however long the delivered history is.
-- It replaces the index on available_at, which also held parked rows and did not match the order.
DROP INDEX "outbox_event_pending_idx";
CREATE INDEX "outbox_event_lease_idx" ON "outbox_event"("id") WHERE "delivered_at" IS NULL AND "parked_at" IS NULL;

-- Parked rows, for `npm run outbox -- list-parked` and the backlog numbers.
CREATE INDEX "outbox_event_parked_idx" ON "outbox_event"("id") WHERE "parked_at" IS NOT NULL;

-- Delivered rows by age, for the purge. Partial, so that it cannot compete with the lease index
-- for the undelivered rows (the planner would sometimes pick it and sort).
CREATE INDEX "outbox_event_delivered_idx" ON "outbox_event"("delivered_at") WHERE "delivered_at" IS NOT NULL;
