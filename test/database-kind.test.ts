import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { applyMigrations, ForeignDatabaseError, MIGRATIONS_DIR } from "../src/db/migrate";
import { withPgClient } from "../src/db/pg-client";
import { createLogger } from "../src/lib/logger";
import { createEmptyDatabase } from "./support/database";
import { catalogSnapshot } from "./support/schema-snapshot";

/** Which database ordergate takes as its own, and which it refuses before writing anything. */
const logger = createLogger("silent");
let database: { url: string; drop(): Promise<void> };
beforeEach(async () => {
  database = await createEmptyDatabase("kind_test");
});
afterEach(() => database.drop());

const sql = (text: string, values: unknown[] = []) =>
  withPgClient(database.url, (client) => client.query(text, values));
const everything = async () =>
  `${await catalogSnapshot(database.url, "public")}\n${await catalogSnapshot(database.url, "ordergate")}`;
const migrationNames = () =>
  fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
const BOOKKEEPING = `CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;

/** Applies the first `count` migrations as an earlier ordergate did (their SQL, their bookkeeping rows). */
async function applyFirstMigrations(count: number) {
  await sql(BOOKKEEPING);
  for (const name of migrationNames().slice(0, count)) {
    const text = fs.readFileSync(path.join(MIGRATIONS_DIR, name, "migration.sql"), "utf8");
    await sql(text);
    const checksum = crypto.createHash("sha256").update(text).digest("hex");
    await sql(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)`,
      [crypto.randomUUID(), checksum, name],
    );
  }
}

describe("recognising the database at start", () => {
  it("refuses an empty database when MEDUSA_URL is set (Medusa's migrations have not run yet), writing nothing", async () => {
    await expect(applyMigrations(database.url, logger, { expectMedusa: true })).rejects.toThrow(
      /is empty, and MEDUSA_URL is set/,
    );
    expect((await sql(`SELECT FROM pg_namespace WHERE nspname = 'ordergate'`)).rowCount).toBe(0);
    expect((await sql(`SELECT FROM pg_class WHERE relname = '_prisma_migrations'`)).rowCount).toBe(0);
  });

  it("finishes a first start that stopped after creating its bookkeeping, but not beside someone else's tables", async () => {
    await sql(BOOKKEEPING);
    expect((await applyMigrations(database.url, logger)).kind).toBe("ordergate");
    const other = await createEmptyDatabase("kind_test_other");
    try {
      await withPgClient(other.url, async (client) => {
        await client.query(BOOKKEEPING);
        await client.query(`CREATE TABLE invoices (id int)`);
      });
      await expect(applyMigrations(other.url, logger)).rejects.toThrow(ForeignDatabaseError);
    } finally {
      await other.drop();
    }
  });

  it("refuses another application's Prisma database, and one with both of ordergate's histories", async () => {
    await sql(BOOKKEEPING);
    await sql(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('1', 'x', '20240101000000_init')`,
    );
    await sql(`CREATE TABLE users (id int)`);
    const before = await everything();
    await expect(applyMigrations(database.url, logger)).rejects.toThrow(
      /neither empty, nor ordergate's, nor a Medusa v1 store's \(it holds public\._prisma_migrations, public\.users\)/,
    );
    expect(await everything()).toBe(before);

    await sql(`DROP TABLE users; DELETE FROM "_prisma_migrations"`);
    await sql(
      `CREATE SCHEMA ordergate; ${BOOKKEEPING.replace('"_prisma_migrations"', '"ordergate"."_prisma_migrations"')}`,
    );
    await expect(applyMigrations(database.url, logger)).rejects.toThrow(ForeignDatabaseError);
  });

  it("starts on a database migrated by a newer ordergate (a rolling deploy's older instance)", async () => {
    await applyMigrations(database.url, logger);
    await sql(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name) VALUES ('newer', 'x', now(), '29991231000000_from_the_future')`,
    );
    expect(await applyMigrations(database.url, logger)).toEqual({ kind: "ordergate", applied: [] });
  });

  it("does not count an extension's objects as someone else's", async () => {
    const available =
      (await sql(`SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements'`)).rowCount === 1;
    if (!available)
      return void console.warn("pg_stat_statements is not available on this server: the extension case is not checked");
    await sql(`CREATE EXTENSION pg_stat_statements`);
    expect((await applyMigrations(database.url, logger)).kind).toBe("ordergate");
  });

  it('moves a populated database of the earlier layout into the schema "ordergate", its data and sequences intact', async () => {
    const beforeMove = migrationNames().indexOf("20261202120000_own_schema");
    await applyFirstMigrations(beforeMove);
    await sql(`INSERT INTO "customer" (id, email, has_account) VALUES ('cus_1', 'a@example.com', true)`);
    await sql(`INSERT INTO "outbox_event" (topic, payload) VALUES ('t', '{}'), ('t', '{}')`);
    await sql(
      `SELECT FROM "open_order_claims"('cus_1', now(), '{}', '{"topic":"t","payload":{}}', '[{"id":"oclaim_1","recipient_email":"b@example.com","token_hash":"${"0".repeat(64)}","expires_at":"2099-01-01T00:00:00Z","order_ids":[]}]', '[]')`,
    );

    expect((await applyMigrations(database.url, logger)).applied).toContain("20261202120000_own_schema");
    expect((await sql(`SELECT id FROM "ordergate"."order_claim"`)).rows).toEqual([{ id: "oclaim_1" }]);
    const next = await sql(`INSERT INTO "ordergate"."outbox_event" (topic, payload) VALUES ('t', '{}') RETURNING id`);
    expect(Number(next.rows[0].id)).toBe(3);
    await sql(
      `SELECT FROM "ordergate"."open_order_claims"('cus_1', now(), '{}', '{"topic":"t","payload":{}}', '[]', '[]')`,
    );
    expect(
      (
        await sql(
          `SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname IN ('order_claim', 'outbox_event')`,
        )
      ).rowCount,
    ).toBe(0);
  });
});
