import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Config } from "../config";
import type { Logger } from "../lib/logger";
import { startEmbeddedPostgres } from "./embedded";
import { PrismaClient } from "./generated/prisma/client";
import { applyMigrations, type DatabaseKind } from "./migrate";
import { preparedStatementNames, type SqlRows, sqlRows } from "./sql";

export type Db = PrismaClient;
export { Prisma } from "./generated/prisma/client";

export interface Database {
  prisma: PrismaClient;
  /** The hot paths' statements, on Prisma's pool without its query engine (src/db/sql.ts). */
  sql: SqlRows;
  /** ordergate's own database, or a Medusa v1 store's that ordergate joined. */
  kind: DatabaseKind;
  /** Where it is (the embedded server's URL without DATABASE_URL): graphile-worker opens its own pool. */
  url: string;
  /** Connections in the pool: open, idle, and requests waiting for one (metrics). */
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * Batches of one kind of statement (src/lib/grouped.ts: claim writes, verifications, their reads)
 * in flight at once. One: a batch's fixed costs (its commit, the outbox's one job, the advisory
 * locks) dominate since the outbox adds one job per transaction, and the larger batches beat a
 * second one in flight in throughput, p99 and CPU per claim alike (docs/performance.md).
 */
export const BATCHES_IN_FLIGHT = 1;

/**
 * How long a request waits for a connection (a new one, or a free one from a busy pool): with
 * PostgreSQL unreachable on a host that drops packets rather than refusing, requests fail as
 * unavailable (503) instead of hanging. A stopped server refuses at once, well within this.
 */
const CONNECT_TIMEOUT_MS = 5000;

function createPool(url: string, logger?: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection that PostgreSQL closed (a restart) is dropped from the pool; unhandled,
  // the event would end the process.
  pool.on("error", (error) => logger?.warn("an idle database connection was closed", { reason: error.message }));
  return pool;
}

export function createPrismaClient(url: string, pool: pg.Pool = createPool(url)): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: true, statementNameGenerator: preparedStatementNames() }),
  });
}

/** Connects to `DATABASE_URL`, or to the embedded server when it is unset; applies migrations. */
export async function openDatabase(
  config: Config,
  logger: Logger,
  /** Set when another process (the primary) has migrated it already and found its kind. */
  migrated?: DatabaseKind,
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, logger);
  const url = config.databaseUrl ?? embedded!.url;
  let kind: DatabaseKind;
  try {
    kind = migrated ?? (await applyMigrations(url, logger, { expectMedusa: config.medusaUrl !== undefined })).kind;
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const pool = createPool(url, logger);
  const prisma = createPrismaClient(url, pool);
  if (kind === "medusa")
    logger.info(
      "on a Medusa v1 database: ordergate's own tables are in the schema \"ordergate\"; Medusa's are used as they are",
    );
  else if (config.medusaUrl)
    logger.warn(
      "MEDUSA_URL is set, but DATABASE_URL is ordergate's own database, not Medusa's: " +
        "claims and GraphQL see ordergate's orders, not the store's",
    );
  return {
    prisma,
    sql: sqlRows(pool),
    kind,
    url,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await prisma.$disconnect();
      await embedded?.stop();
    },
  };
}
