-- A customer's orders, newest first, are read a page at a time (GET /store/customers/me/orders,
-- me { orders }): in this order the page's first rows are found without sorting (and, with the
-- relations joined, without building every order's items first). It serves lookups by customer
-- alone too, so it replaces that index.

-- DropIndex
DROP INDEX "order_customer_id_idx";

-- CreateIndex
CREATE INDEX "order_customer_id_created_at_id_idx" ON "order"("customer_id", "created_at" DESC, "id" DESC);
