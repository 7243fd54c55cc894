-- CreateEnum
CREATE TYPE "order_status_enum" AS ENUM ('pending', 'completed', 'archived', 'canceled', 'requires_action');

-- CreateEnum
CREATE TYPE "order_fulfillment_status_enum" AS ENUM ('not_fulfilled', 'partially_fulfilled', 'fulfilled', 'partially_shipped', 'shipped', 'partially_returned', 'returned', 'canceled', 'requires_action');

-- CreateEnum
CREATE TYPE "order_payment_status_enum" AS ENUM ('not_paid', 'awaiting', 'captured', 'partially_refunded', 'refunded', 'canceled', 'requires_action');

-- CreateEnum
CREATE TYPE "order_claim_status" AS ENUM ('PENDING', 'VERIFIED', 'EXPIRED', 'SUPERSEDED');

-- CreateTable
CREATE TABLE "customer" (
    "id" VARCHAR NOT NULL,
    "email" VARCHAR NOT NULL,
    "first_name" VARCHAR,
    "last_name" VARCHAR,
    "phone" VARCHAR,
    "billing_address_id" VARCHAR,
    "password_hash" VARCHAR,
    "has_account" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(6),
    "metadata" JSONB,

    CONSTRAINT "customer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "address" (
    "id" VARCHAR NOT NULL,
    "customer_id" VARCHAR,
    "company" VARCHAR,
    "first_name" VARCHAR,
    "last_name" VARCHAR,
    "address_1" VARCHAR,
    "address_2" VARCHAR,
    "city" VARCHAR,
    "country_code" VARCHAR,
    "province" VARCHAR,
    "postal_code" VARCHAR,
    "phone" VARCHAR,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(6),
    "metadata" JSONB,

    CONSTRAINT "address_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order" (
    "id" VARCHAR NOT NULL,
    "status" "order_status_enum" NOT NULL DEFAULT 'pending',
    "fulfillment_status" "order_fulfillment_status_enum" NOT NULL DEFAULT 'not_fulfilled',
    "payment_status" "order_payment_status_enum" NOT NULL DEFAULT 'not_paid',
    "display_id" SERIAL NOT NULL,
    "cart_id" VARCHAR,
    "customer_id" VARCHAR NOT NULL,
    "email" VARCHAR NOT NULL,
    "billing_address_id" VARCHAR,
    "shipping_address_id" VARCHAR,
    "region_id" VARCHAR,
    "currency_code" VARCHAR NOT NULL,
    "tax_rate" REAL,
    "canceled_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "metadata" JSONB,
    "idempotency_key" VARCHAR,
    "no_notification" BOOLEAN,
    "external_id" VARCHAR,
    "sales_channel_id" VARCHAR,

    CONSTRAINT "order_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "line_item" (
    "id" VARCHAR NOT NULL,
    "order_id" VARCHAR,
    "cart_id" VARCHAR,
    "title" VARCHAR NOT NULL,
    "description" VARCHAR,
    "thumbnail" VARCHAR,
    "unit_price" INTEGER NOT NULL,
    "quantity" INTEGER NOT NULL,
    "variant_id" VARCHAR,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "metadata" JSONB,

    CONSTRAINT "line_item_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_claim" (
    "id" VARCHAR NOT NULL,
    "claimer_customer_id" VARCHAR NOT NULL,
    "recipient_email" VARCHAR NOT NULL,
    "status" "order_claim_status" NOT NULL DEFAULT 'PENDING',
    "token_hash" CHAR(64) NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "verified_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_claim_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_claim_order" (
    "claim_id" VARCHAR NOT NULL,
    "order_id" VARCHAR NOT NULL,
    "transferred_at" TIMESTAMPTZ(6),

    CONSTRAINT "order_claim_order_pkey" PRIMARY KEY ("claim_id","order_id")
);

-- CreateTable
CREATE TABLE "outbox_event" (
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

    CONSTRAINT "outbox_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customer_session" (
    "id" CHAR(64) NOT NULL,
    "customer_id" VARCHAR NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "order_cart_id_key" ON "order"("cart_id");

-- CreateIndex
CREATE INDEX "order_customer_id_idx" ON "order"("customer_id");

-- CreateIndex
CREATE INDEX "order_display_id_idx" ON "order"("display_id");

-- CreateIndex
CREATE INDEX "line_item_order_id_idx" ON "line_item"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "order_claim_token_hash_key" ON "order_claim"("token_hash");

-- CreateIndex
CREATE INDEX "order_claim_claimer_customer_id_status_idx" ON "order_claim"("claimer_customer_id", "status");

-- CreateIndex
CREATE INDEX "order_claim_status_expires_at_idx" ON "order_claim"("status", "expires_at");

-- CreateIndex
CREATE INDEX "order_claim_order_order_id_idx" ON "order_claim_order"("order_id");

-- CreateIndex
CREATE INDEX "customer_session_customer_id_idx" ON "customer_session"("customer_id");

-- AddForeignKey
ALTER TABLE "order" ADD CONSTRAINT "order_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order" ADD CONSTRAINT "order_shipping_address_id_fkey" FOREIGN KEY ("shipping_address_id") REFERENCES "address"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "line_item" ADD CONSTRAINT "line_item_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "order"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_claim" ADD CONSTRAINT "order_claim_claimer_customer_id_fkey" FOREIGN KEY ("claimer_customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_claim_order" ADD CONSTRAINT "order_claim_order_claim_id_fkey" FOREIGN KEY ("claim_id") REFERENCES "order_claim"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_claim_order" ADD CONSTRAINT "order_claim_order_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "order"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "customer_session" ADD CONSTRAINT "customer_session_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (Prisma's schema language cannot express these):
-- Medusa's rule: one live guest and one live registered customer per email.
CREATE UNIQUE INDEX "IDX_customer_email_has_account_unique" ON "customer"("email", "has_account") WHERE "deleted_at" IS NULL;

-- Medusa's line_item check.
ALTER TABLE "line_item" ADD CONSTRAINT "CHK_line_item_quantity_positive" CHECK ("quantity" > 0);

-- The outbox dispatcher's queue: undelivered rows by due time.
CREATE INDEX "outbox_event_pending_idx" ON "outbox_event"("available_at") WHERE "delivered_at" IS NULL;
