import crypto from "node:crypto";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/db/embedded";
import { withPgClient } from "../../src/db/pg-client";
import type { Logger } from "../../src/lib/logger";
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

/** A claim as the mail accounting needs it (see `mail.ts`). */
export interface ClaimRow {
  tokenHash: string;
  status: string;
  /** When it was opened, in ms since the epoch (the database's clock: this machine's, as the sink's). */
  createdAt: number;
}

/** Each claim (or each opened since `since`) with its token's hash and status: which emails are owed. */
export function readClaims(url: string, since?: Date): Promise<ClaimRow[]> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<ClaimRow>(
      `SELECT token_hash AS "tokenHash", status::text AS status, extract(epoch FROM created_at)::float8 * 1000 AS "createdAt"
       FROM "ordergate"."order_claim" WHERE $1::timestamptz IS NULL OR created_at >= $1`,
      [since ?? null],
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

/** An order's row as the seed left it, where confirmation changes it: what `restoreOrders` puts back. */
export interface SeededOrder {
  id: string;
  customerId: string;
  email: string;
  /** As PostgreSQL prints it (microseconds kept: a JS Date would drop them). */
  updatedAt: string;
}

/** The rows of these orders as they are now (see SeededOrder), read after seeding. */
export function readOrders(url: string, ids: string[]): Promise<SeededOrder[]> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<SeededOrder>(
      `SELECT "id", "customer_id" AS "customerId", "email", "updated_at"::text AS "updatedAt"
       FROM "public"."order" WHERE "id" = ANY($1::varchar[])`,
      [ids],
    );
    return rows;
  });
}

/**
 * Puts these orders back as `seeded` holds them: confirmation moves a claimed guest order into the
 * claimer's account (`customer_id`, `updated_at`, and `email` with CLAIM_REPLACE_ORDER_EMAIL), and
 * a claim of an order in an account is answered 2xx but opens nothing (docs/claims.md). Only rows
 * that changed are written; returns how many. Claims and their links stay, so that the mail
 * accounting (`mail.ts`) still sees every claim.
 */
export function restoreOrders(url: string, seeded: SeededOrder[]): Promise<number> {
  return withPgClient(url, async (client) => {
    const { rowCount } = await client.query(
      `UPDATE "public"."order" AS o
       SET "customer_id" = s."customer_id", "email" = s."email", "updated_at" = s."updated_at"
       FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::timestamptz[])
         AS s("id", "customer_id", "email", "updated_at")
       WHERE o."id" = s."id" AND (o."customer_id", o."email") IS DISTINCT FROM (s."customer_id", s."email")`,
      [
        seeded.map((order) => order.id),
        seeded.map((order) => order.customerId),
        seeded.map((order) => order.email),
        seeded.map((order) => order.updatedAt),
      ],
    );
    return rowCount ?? 0;
  });
}

/** How many claims there are, and how many of them are superseded (no email owed). */
export function countClaims(url: string): Promise<{ total: number; superseded: number }> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ total: number; superseded: number }>(
      `SELECT count(*)::int AS "total", count(*) FILTER (WHERE "status" = 'SUPERSEDED')::int AS "superseded"
       FROM "ordergate"."order_claim"`,
    );
    return rows[0]!;
  });
}
