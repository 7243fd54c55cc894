import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { Client } from "pg";
import type { Logger as WorkerLogger } from "graphile-worker";
import { ConfigError } from "../config";
import type { Logger } from "../lib/logger";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../prisma/migrations");
/** ordergate's own objects beside a Medusa v1 store's tables (the first migration's header says why). */
export const MEDUSA_MIGRATIONS_DIR = path.resolve(__dirname, "../../prisma/medusa-migrations");

/** The key `prisma migrate` locks with, so our runs and Prisma's never interleave. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** The first migration Medusa v1 ever ran (TypeORM's `migrations` table), and tables only a Medusa store has all of. */
const MEDUSA_FIRST_MIGRATION = "initialSchema1611063162649";
const MEDUSA_TABLES = ["customer", "order", "line_item", "address", "store"];

/**
 * What the database holds: ordergate's own (or nothing yet, which becomes ordergate's), or a
 * Medusa v1 store's, which ordergate joins with its objects in the "ordergate" schema only.
 */
export type DatabaseKind = "ordergate" | "medusa";

/**
 * A database that is neither empty, nor ordergate's, nor Medusa v1's (or empty where Medusa's was
 * expected): refused before anything is written. A setting's problem (DATABASE_URL), told as one.
 */
export class ForeignDatabaseError extends ConfigError {
  override name = "ForeignDatabaseError";
}

/** Where each kind's history is kept: on Medusa's database, nothing of ordergate's goes into "public". */
const HISTORIES: Record<DatabaseKind, { dir: string; bookkeeping: string }> = {
  ordergate: { dir: MIGRATIONS_DIR, bookkeeping: `"_prisma_migrations"` },
  medusa: { dir: MEDUSA_MIGRATIONS_DIR, bookkeeping: `"ordergate"."_prisma_migrations"` },
};

/**
 * Recognises the database (`inspectDatabase`), then applies its kind's migrations in Prisma's own
 * format and bookkeeping (`_prisma_migrations`, SHA-256 checksums), so that on ordergate's own
 * database `prisma migrate deploy` and this agree about what is applied (beside Medusa, only this
 * knows where the history is kept). Prisma's native migration engine cannot be downloaded here;
 * this needs only a `pg` connection. Each migration runs in one transaction; concurrent instances
 * wait on the advisory lock, and look at the database only once they hold it.
 */
export async function applyMigrations(
  databaseUrl: string,
  logger: Logger,
  options: { expectMedusa?: boolean } = {},
): Promise<{ kind: DatabaseKind; applied: string[] }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK_KEY]);
    const kind = await inspectDatabase(client, options);
    const { dir, bookkeeping } = HISTORIES[kind];
    const migrations = await readMigrations(dir);
    if (kind === "medusa") await client.query(`CREATE SCHEMA IF NOT EXISTS "ordergate"`);
    // graphile-worker's own schema ("graphile_worker", beside Medusa's "public" too), installed and
    // migrated by graphile-worker itself, under this lock and before ours: the outbox trigger adds jobs.
    await graphileWorker().runMigrations({ connectionString: databaseUrl, logger: workerLogger(logger) });
    await client.query(`CREATE TABLE IF NOT EXISTS ${bookkeeping} (
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
      `SELECT migration_name, checksum, finished_at FROM ${bookkeeping} WHERE rolled_back_at IS NULL`,
    );
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const row = recorded.get(migration.name);
      if (row) {
        if (!row.finished_at)
          throw new Error(
            `migration ${migration.name} failed earlier and is marked unfinished in _prisma_migrations; ` +
              "resolve it before starting",
          );
        if (row.checksum !== migration.checksum)
          throw new Error(`migration ${migration.name} was changed after it was applied (checksum mismatch)`);
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${bookkeeping} (id, checksum, finished_at, migration_name, applied_steps_count)
          VALUES ($1, $2, now(), $3, 1)`,
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
    return { kind, applied };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

/**
 * What kind of database this is, by what it holds (read only): ordergate's migration history (its
 * first migration recorded, or nothing recorded and nothing else there), Medusa v1's own tables and
 * first migration (beside which ordergate's own history may sit), or nothing at all, which becomes
 * ordergate's unless `expectMedusa` (MEDUSA_URL is set: ordergate would take the place Medusa's
 * own migrations are about to fill). Anything else is a ForeignDatabaseError, naming what it holds.
 * Objects that belong to an extension (pg_stat_statements' views, PostGIS's tables) do not count.
 */
export async function inspectDatabase(client: Client, options: { expectMedusa?: boolean } = {}): Promise<DatabaseKind> {
  const { rows: relations } = await client.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (
        SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
      )
    ORDER BY 1, 2`);
  const has = (schema: string, name: string) =>
    relations.some((relation) => relation.schema === schema && relation.name === name);
  /** What a history's bookkeeping records; null without its table. */
  const recorded = async (kind: DatabaseKind) => {
    const [schema, table] = kind === "medusa" ? ["ordergate", "_prisma_migrations"] : ["public", "_prisma_migrations"];
    if (!has(schema, table)) return null;
    return (
      await client.query<{ migration_name: string }>(`SELECT migration_name FROM ${HISTORIES[kind].bookkeeping}`)
    ).rows.map((row) => row.migration_name);
  };
  /**
   * Its own first migration recorded (newer ones this version does not know are an upgrade's, not a
   * stranger's).
   */
  const startedBy = async (kind: DatabaseKind, names: string[]) =>
    names.includes((await readMigrations(HISTORIES[kind].dir))[0]!.name);
  const isMedusa = async () => {
    if (!MEDUSA_TABLES.every((table) => has("public", table)) || !has("public", "migrations")) return false;
    const { rows } = await client.query<{ found: boolean }>(`
      SELECT EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = '"public"."migrations"'::regclass AND attname = 'name' AND NOT attisdropped
      ) AS found`);
    if (!rows[0]!.found) return false;
    const first = await client.query(`SELECT 1 FROM "public"."migrations" WHERE "name" = $1`, [MEDUSA_FIRST_MIGRATION]);
    return first.rowCount === 1;
  };

  const standalone = await recorded("ordergate");
  const besideMedusa = await recorded("medusa");
  if (await isMedusa()) {
    // ordergate's own history in Medusa's schema would mean its tables there too.
    if (
      standalone === null &&
      (besideMedusa === null || besideMedusa.length === 0 || (await startedBy("medusa", besideMedusa)))
    )
      return "medusa";
  } else if (besideMedusa === null && standalone !== null) {
    if (standalone.length > 0 ? await startedBy("ordergate", standalone) : relations.length === 1) return "ordergate";
  } else if (relations.length === 0) {
    if (!options.expectMedusa) return "ordergate";
    throw new ForeignDatabaseError(
      "The database at DATABASE_URL is empty, and MEDUSA_URL is set: ordergate expects Medusa v1's database there. " +
        "Run Medusa's migrations first (medusa migrations run), or point DATABASE_URL at ordergate's own database.",
    );
  }
  const shown = relations.slice(0, 5).map((relation) => `${relation.schema}.${relation.name}`);
  throw new ForeignDatabaseError(
    "The database at DATABASE_URL is neither empty, nor ordergate's, nor a Medusa v1 store's " +
      `(it holds ${shown.join(", ")}` +
      `${relations.length > shown.length ? ` and ${relations.length - shown.length} more` : ""}): ` +
      "nothing was written to it. " +
      "Point DATABASE_URL at an empty database, at ordergate's own, or at a Medusa v1 store's.",
  );
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await fs.readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

/**
 * graphile-worker, loaded where it is used: a web worker imports this module (the database) but
 * never migrates nor runs jobs, and does without its memory.
 */
const graphileWorker = () => require("graphile-worker") as typeof import("graphile-worker");

/** graphile-worker's log lines, through ours: its chatter at debug, its warnings and errors as such. */
export function workerLogger(logger: Logger): WorkerLogger {
  return new (graphileWorker().Logger)(() => (level, message, meta) => {
    const fields = { scope: "graphile-worker" };
    // A failed job is logged by the outbox task itself (masked, with its attempt); not twice.
    if (meta && typeof meta === "object" && "failure" in meta) logger.debug(message.split("\n")[0]!, fields);
    else if (level === "error") logger.error(message, undefined, fields);
    else if (level === "warning") logger.warn(message, fields);
    else logger.debug(message, fields);
  });
}
