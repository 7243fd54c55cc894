import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { Client } from "pg";
import type { Logger } from "../logger";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../prisma/migrations");

/** The key `prisma migrate` locks with, so our runs and Prisma's never interleave. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/**
 * Applies `prisma/migrations` in Prisma's own format and bookkeeping (`_prisma_migrations`,
 * SHA-256 checksums), so `prisma migrate deploy` and this agree about what is applied. Prisma's
 * native migration engine cannot be downloaded here; this needs only a `pg` connection. Each
 * migration runs in one transaction; concurrent instances wait on the advisory lock.
 */
export async function applyMigrations(databaseUrl: string, logger: Logger, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const row = recorded.get(migration.name);
      if (row) {
        if (!row.finished_at) throw new Error(`migration ${migration.name} failed earlier and is marked unfinished in _prisma_migrations; resolve it before starting`);
        if (row.checksum !== migration.checksum) throw new Error(`migration ${migration.name} was changed after it was applied (checksum mismatch)`);
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)`,
          [crypto.randomUUID(), migration.checksum, migration.name],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
      logger.info(`applied migration ${migration.name}`);
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await fs.readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") };
    }),
  );
}
