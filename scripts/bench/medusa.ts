import { withPgClient } from "../../src/db/pg-client";
import { TestMedusa } from "../../test/support/medusa";
import type { BenchDatabase } from "./database";
import { CUSTOMERS, ORDERS_PER_GUEST, storeBearer } from "./fixtures";

/** Guest orders seeded in Medusa's database for its claim route: as many as ordergate's claims of one id walk through. */
const MEDUSA_GUEST_ORDERS = 1000;

/**
 * The Medusa v1 test server, migrated, seeded and started with a database of its own on the
 * bench's PostgreSQL server (TestMedusa makes its database on the server the test run's admin URL
 * names: the bench's, by another name).
 */
export async function startBenchMedusa(database: BenchDatabase, jwtSecret: string): Promise<TestMedusa> {
  const admin = new URL(database.url);
  admin.pathname = "/postgres";
  process.env.ORDERGATE_TEST_ADMIN_URL = admin.toString();
  return (await TestMedusa.create(jwtSecret)).start();
}

/** A gateway's settings in front of the bench's Medusa, on Medusa's own database, as a shop runs it. */
export function inFrontOfMedusa(medusa: TestMedusa, jwtSecret: string, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATABASE_URL: medusa.databaseUrl,
    MEDUSA_URL: medusa.url,
    JWT_SECRET: jwtSecret,
    PUBLIC_URL: "http://localhost",
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    RATE_LIMITS: "off",
  };
}

/** Medusa's side of the claim comparison: its customers' JWTs and guest orders in its database. */
export interface MedusaFixtures {
  bearers: string[];
  guestOrderIds: string[];
}

/**
 * Customers with accounts and guest orders (10 per address, each address a guest customer, as
 * Medusa records a guest checkout) written straight into Medusa's tables: its claim route reads
 * only the claimer (`customerService.retrieve`, which must have an account) and the orders' ids and
 * emails, then signs a token and emits an event; nothing it reads needs a cart or a payment.
 */
export async function seedMedusaClaims(medusa: TestMedusa, jwtSecret: string): Promise<MedusaFixtures> {
  const customerIds = Array.from({ length: CUSTOMERS }, (_, i) => `cus_bench_${i}`);
  const guestOrderIds = Array.from({ length: MEDUSA_GUEST_ORDERS }, (_, n) => `order_guest_${n}`);
  const guests = MEDUSA_GUEST_ORDERS / ORDERS_PER_GUEST;
  await withPgClient(medusa.databaseUrl, async (client) => {
    await client.query(
      `INSERT INTO customer (id, email, first_name, last_name, has_account)
       SELECT 'cus_bench_' || i, 'customer' || i || '@bench.example', 'Bench', 'Customer ' || i, true
         FROM generate_series(0, $1 - 1) AS i
       UNION ALL
       SELECT 'cus_guest_' || g, 'guest' || g || '@bench.example', 'Bench', 'Guest ' || g, false
         FROM generate_series(0, $2 - 1) AS g`,
      [CUSTOMERS, guests],
    );
    await client.query(
      `INSERT INTO "order" (id, customer_id, email, region_id, currency_code)
       SELECT 'order_guest_' || n, 'cus_guest_' || (n / $2), 'guest' || (n / $2) || '@bench.example', r.id, r.currency_code
         FROM generate_series(0, $1 - 1) AS n, (SELECT id, currency_code FROM region ORDER BY id LIMIT 1) AS r`,
      [MEDUSA_GUEST_ORDERS, ORDERS_PER_GUEST],
    );
  });
  return { bearers: customerIds.map((id) => storeBearer(id, jwtSecret)), guestOrderIds };
}

/** The pid of the bench's `medusa start`: the root of Medusa's tree. */
export function medusaPid(medusa: TestMedusa): number {
  if (medusa.pid === undefined) throw new Error(`Medusa on port ${medusa.port} is not running`);
  return medusa.pid;
}
