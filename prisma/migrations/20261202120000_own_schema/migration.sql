-- ordergate's own objects move into a PostgreSQL schema of their own, "ordergate": where they sit
-- beside a Medusa v1 store's tables (whose "public" schema ordergate must leave as Medusa made it,
-- and which has a claim_order table of its own), and so here too, one layout for both. The tables
-- that mirror Medusa's (customer, address, order, line_item) and their enums stay in "public".
CREATE SCHEMA IF NOT EXISTS "ordergate";

ALTER TYPE "order_claim_status" SET SCHEMA "ordergate";
ALTER TABLE "order_claim" SET SCHEMA "ordergate";
ALTER TABLE "order_claim_order" SET SCHEMA "ordergate";
ALTER TABLE "outbox_event" SET SCHEMA "ordergate";
ALTER TABLE "customer_session" SET SCHEMA "ordergate";

ALTER FUNCTION "open_order_claims"(VARCHAR, TIMESTAMPTZ, VARCHAR[], JSONB, JSONB, JSONB) SET SCHEMA "ordergate";
-- Its body names the tables unqualified: it finds its own first, then the mirrored ones.
ALTER FUNCTION "ordergate"."open_order_claims"(VARCHAR, TIMESTAMPTZ, VARCHAR[], JSONB, JSONB, JSONB) SET search_path = "ordergate", "public";
