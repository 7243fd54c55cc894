import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { sqlRows } from "../src/db/sql";
import pg from "pg";
import { PrismaClient } from "../src/db/generated/prisma/client";
import { createLogger } from "../src/lib/logger";
import { createGateway, type Gateway } from "../src/app/gateway";
import { loadSeed, parseSeedFile } from "../src/services/seed-service";
import { createTestDatabase } from "./support/database";
import { testConfig } from "./support/gateway";
import { storeTokenFor } from "./support/scenarios";

/** Every SQL statement the gateway's Prisma client sends, counted at the pg driver. */
let statements = 0;
class CountingClient extends pg.Client {
  override query(...args: unknown[]): never {
    statements++;
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

const ORDERS_WITH_RELATIONS =
  "{ me { orders(first: 50) { edges { node { items { id } shippingAddress { city } } } } } }";

let gateway: Gateway;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let prisma: PrismaClient;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-query-count-"));
  pool = new pg.Pool({ connectionString: database.url, Client: CountingClient });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  // No background work during the count: the outbox and the expiry sweep wait an hour between passes.
  const config = testConfig(database.url, dataDir, { OUTBOX_POLL_INTERVAL: "1h", CLAIM_EXPIRY_SWEEP_INTERVAL: "1h" });
  gateway = await createGateway(config, createLogger("silent"), {
    prisma,
    sql: sqlRows(pool),
    kind: "ordergate",
    url: database.url,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => prisma.$disconnect(),
  });
  await gateway.listen();
});

afterAll(async () => {
  await gateway?.close();
  await prisma?.$disconnect();
  await pool?.end(); // ours, so the adapter leaves it open
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A customer with `count` orders of their own: with an account, or a guest record (whose orders can be claimed). */
async function seedCustomerWithOrders(id: string, count: number, options: { guest?: boolean } = {}): Promise<void> {
  await loadSeed(
    prisma,
    parseSeedFile({
      customers: [
        options.guest
          ? { id, email: `${id}@example.com`, has_account: false }
          : { id, email: `${id}@example.com`, password: "correct horse", has_account: true },
      ],
      orders: Array.from({ length: count }, (_, i) => ({
        id: `order_${id}_${i}`,
        email: `${id}@example.com`,
        customer_id: id,
        items: [
          { title: "Mug", unit_price: 1500, quantity: 1 },
          { title: "Tea", unit_price: 700, quantity: 3 },
        ],
        shipping_address: { first_name: "A", address_1: `${i} Main St`, city: `City ${i}`, country_code: "us" },
      })),
    }),
  );
}

/** One GraphQL request as the customer: its result and the statements it cost. */
async function run(query: string, customerId: string): Promise<{ body: any; statements: number }> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  statements = 0;
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${storeTokenFor(customerId)}` },
    body: JSON.stringify({ query }),
  });
  const body = await response.json();
  return { body, statements };
}

it("loads a customer's orders with their items and addresses in a fixed number of statements, however many orders", async () => {
  await seedCustomerWithOrders("cus_few", 2);
  await seedCustomerWithOrders("cus_many", 50);
  await gateway.jobWorker!.flush();
  const few = await run(ORDERS_WITH_RELATIONS, "cus_few");
  const many = await run(ORDERS_WITH_RELATIONS, "cus_many");
  expect(few.body.data.me.orders.edges).toHaveLength(2);
  expect(many.body.data.me.orders.edges).toHaveLength(50);
  expect(
    many.body.data.me.orders.edges.every(
      (e: { node: { items: unknown[]; shippingAddress: { city: string } } }) =>
        e.node.items.length === 2 && e.node.shippingAddress.city.startsWith("City"),
    ),
  ).toBe(true);
  expect(many.statements).toBe(few.statements);
  // The signed-in customer's account (does it still exist: design.md, sign-in), then the customer,
  // the orders page with its count, the items and the addresses: one statement (relation joins).
  expect(many.statements).toBe(2);
});

it("opens a claim in 3 statements and confirms it in 1 (the hot paths), whatever else the gateway does", async () => {
  await seedCustomerWithOrders("cus_claimer", 0);
  await seedCustomerWithOrders("cus_guest", 2, { guest: true });
  await gateway.jobWorker!.flush();
  await gateway.jobWorker!.stop(); // the outbox's statements are not the request's
  const claimed = await run(
    'mutation { claimOrders(orderIds: ["order_cus_guest_0", "order_cus_guest_1"]) { ... on ClaimOrdersSuccess { claims { id status recipientEmail orderCount createdAt expiresAt } } } }',
    "cus_claimer",
  );
  expect(claimed.body.data.claimOrders.claims).toEqual([
    {
      id: expect.stringMatching(/^oclaim_/),
      status: "PENDING",
      recipientEmail: "c***@example.com",
      orderCount: 2,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    },
  ]);
  // The sign-in's account; the claimer's account and the orders; then the claim, its links and
  // events, superseding as needed. The claims are answered as written: nothing reads them back.
  expect(claimed.statements).toBe(3);
  const stored = await prisma.orderClaim.findUniqueOrThrow({
    where: { id: claimed.body.data.claimOrders.claims[0].id },
  });
  expect([stored.created_at.toISOString(), stored.expires_at.toISOString()]).toEqual([
    claimed.body.data.claimOrders.claims[0].createdAt,
    claimed.body.data.claimOrders.claims[0].expiresAt,
  ]);

  const [tokenEvent] = await prisma.outboxEvent.findMany({ where: { topic: "order-update-token.created" } });
  const { token } = tokenEvent!.secret as { token: string };
  statements = 0;
  const response = await fetch(`${gateway.url}/store/orders/customer/confirm`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  expect(response.status).toBe(200);
  expect(statements).toBe(1);
  expect((await prisma.order.findMany({ where: { customer_id: "cus_claimer" } })).map((o) => o.id).sort()).toEqual([
    "order_cus_guest_0",
    "order_cus_guest_1",
  ]);
});

it("answers GET /store/customers/me/orders in 3 statements: the sign-in's account, the page with its items and addresses, and the count", async () => {
  await seedCustomerWithOrders("cus_rest_reader", 12);
  await gateway.jobWorker!.flush();
  statements = 0;
  const response = await fetch(`${gateway.url}/store/customers/me/orders?limit=5`, {
    headers: { authorization: `Bearer ${storeTokenFor("cus_rest_reader")}` },
  });
  const body = await response.json();
  // One statement through the customer (page and count) made PostgreSQL build every order as JSON: slower.
  expect(statements).toBe(3);
  expect(body.count).toBe(12);
  expect(body.orders).toHaveLength(5);
  expect(
    body.orders.every(
      (order: { items: unknown[]; shipping_address: { city: string } }) =>
        order.items.length === 2 && order.shipping_address.city.startsWith("City"),
    ),
  ).toBe(true);
});
