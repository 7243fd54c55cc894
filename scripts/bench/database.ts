import crypto from "node:crypto";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/db/embedded";
import { withPgClient } from "../../src/db/pg-client";
import type { Logger } from "../../src/logger";
import { postmasterPid } from "./processes";

export interface BenchDatabase {
  /** `embedded` (in the bench's temp dir) or `external` (a fresh database on DATABASE_URL's server). */
  kind: "embedded" | "external";
  url: string;
  /** The embedded server's postmaster, whose CPU the bench measures; none for an external server. */
  postmasterPid: number | undefined;
  /** Stops the embedded server, or drops the bench's database from the external one. */
  stop(): Promise<void>;
}

/**
 * The embedded PostgreSQL in `dataDir`, or, with `externalUrl` (DATABASE_URL), a new database
 * `ordergate_bench_<random>` on that server, so that the bench never touches existing data.
 */
export async function startBenchDatabase(
  dataDir: string,
  externalUrl: string | undefined,
  logger: Logger,
): Promise<BenchDatabase> {
  if (!externalUrl) {
    const embedded = await startEmbeddedPostgres(dataDir, logger);
    return {
      kind: "embedded",
      url: embedded.url,
      postmasterPid: postmasterPid(path.join(dataDir, "postgres")),
      stop: () => embedded.stop(),
    };
  }
  const name = `ordergate_bench_${crypto.randomBytes(6).toString("hex")}`;
  const admin = (sql: string) =>
    withPgClient(externalUrl, async (client) => {
      await client.query(sql);
    });
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(externalUrl);
  url.pathname = `/${name}`;
  return {
    kind: "external",
    url: url.toString(),
    postmasterPid: undefined,
    stop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Each claim with its token's hash and status: which emails are owed (see `mail.ts`). */
export function readClaims(url: string): Promise<{ tokenHash: string; status: string }[]> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ tokenHash: string; status: string }>(
      `SELECT token_hash AS "tokenHash", status::text AS status FROM "ordergate"."order_claim"`,
    );
    return rows;
  });
}

/**
 * Waits until graphile-worker holds no outbox job but parked ones (completed jobs are deleted), polling every 100 ms;
 * returns the seconds it took, or null if `timeoutMs` passed first.
 */
export function waitForOutboxDrain(url: string, timeoutMs: number): Promise<number | null> {
  return withPgClient(url, async (client) => {
    const started = Date.now();
    for (;;) {
      const { rows } = await client.query<{ waiting: boolean }>(
        `SELECT EXISTS (SELECT FROM "graphile_worker"."jobs" WHERE task_identifier = 'ordergate:outbox' AND (attempts < max_attempts OR locked_at IS NOT NULL)) AS waiting`,
      );
      if (!rows[0]!.waiting) return (Date.now() - started) / 1000;
      if (Date.now() - started > timeoutMs) return null;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}
