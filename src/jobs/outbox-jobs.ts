import { type Db, Prisma } from "../db/database";

/** Backlog numbers (for metrics). */
export interface OutboxStats {
  /** Undelivered and not parked: due, running or waiting for a retry. */
  pending: number;
  parked: number;
  /** Since the oldest pending event was written; null when none is pending. */
  oldestPendingAgeSeconds: number | null;
}

/**
 * graphile-worker's task that delivers outbox rows: one job per writing transaction, its payload the
 * ids of the rows it wrote (added at commit by the outbox triggers).
 */
export const OUTBOX_TASK = "ordergate:outbox";
/**
 * Each outbox row a job (aliased `j`) delivers, as `ev."id"`: a join to add after the jobs (the
 * payload holds the ids; graphile-worker's `jobs` view leaves payloads out, the migration's
 * function reads them).
 */
export const eventsOfJob = Prisma.sql`CROSS JOIN LATERAL "ordergate"."outbox_job_event_ids"(j."id") AS ev("id")`;
/** A job (aliased `j`) that failed for good: its attempts used up, and not running. Its outbox row is parked. */
const jobFailedForGood = Prisma.sql`j."attempts" >= j."max_attempts" AND j."locked_at" IS NULL`;
/** The hourly purge (graphile-worker's cron), and once at start. */
export const PURGE_TASK = "ordergate:purge";

/**
 * The backlog numbers in one query over graphile-worker's `jobs` view: completed jobs are deleted,
 * so it holds only what is pending or permanently failed (parked), however long the history; a row
 * is counted until it is delivered. A job on its final attempt is still pending while it runs
 * (graphile-worker counts the attempt when it takes the job): parked once that attempt failed.
 */
export const outboxStatsStatement = Prisma.sql`
  SELECT count(*) FILTER (WHERE NOT parked)::int AS "pending", count(*) FILTER (WHERE parked)::int AS "parked",
    extract(epoch FROM now() - min(created_at) FILTER (WHERE NOT parked))::float8 AS "oldestPendingAgeSeconds"
  FROM (SELECT COALESCE(e."created_at", j."created_at") AS created_at, ${jobFailedForGood} AS parked
        FROM "graphile_worker"."jobs" AS j ${eventsOfJob} LEFT JOIN "ordergate"."outbox_event" AS e ON e."id" = ev."id"
        WHERE j."task_identifier" = ${OUTBOX_TASK} AND e."delivered_at" IS NULL) AS events`;

/** Backlog numbers for metrics (any instance reads the same: they are the queue's). */
export async function readOutboxStats(prisma: Db): Promise<OutboxStats> {
  const [stats] = await prisma.$queryRaw<OutboxStats[]>(outboxStatsStatement);
  return stats!;
}

/** What an operator sees of a parked event: never its payload (addresses) or secret (token). */
export interface ParkedOutboxEvent {
  id: bigint;
  topic: string;
  attempts: number;
  parked_at: Date;
  last_error: string | null;
}

/**
 * Parked events, oldest first: outbox rows whose graphile-worker job failed permanently (its
 * attempts used up). When it was parked is when the job was last updated (its final failure).
 */
export async function listParkedOutboxEvents(prisma: Db): Promise<ParkedOutboxEvent[]> {
  return prisma.$queryRaw<ParkedOutboxEvent[]>`
    SELECT e."id", e."topic", j."attempts"::int AS "attempts", j."updated_at" AS "parked_at", j."last_error"
    FROM "graphile_worker"."jobs" AS j ${eventsOfJob} JOIN "ordergate"."outbox_event" AS e ON e."id" = ev."id"
    WHERE j."task_identifier" = ${OUTBOX_TASK} AND ${jobFailedForGood} AND e."delivered_at" IS NULL
    ORDER BY e."id"`;
}

/** Some of the ids given to re-queue are unknown or not parked; nothing was re-queued. */
export class OutboxRequeueError extends Error {
  override name = "OutboxRequeueError";
}

/**
 * Gives parked events a fresh set of attempts, due now (graphile-worker's reschedule_jobs); a
 * running gateway picks them up at its next poll. Given ids must all name parked events, or none
 * is re-queued. An event goes again with the others of its job (the events its transaction wrote
 * that failed with it: all parked too). Returns how many events were re-queued.
 */
export async function requeueParkedOutboxEvents(prisma: Db, which: bigint[] | "all"): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const chosen =
      which === "all"
        ? Prisma.sql`j."parked" AND e."delivered_at" IS NULL`
        : Prisma.sql`e."id" = ANY(${which}::bigint[])`;
    const rows = await tx.$queryRaw<
      { id: bigint; delivered_at: Date | null; job_id: bigint | null; parked: boolean | null }[]
    >`
      SELECT e."id", e."delivered_at", j."id" AS "job_id", j."parked"
      FROM "ordergate"."outbox_event" AS e
      ${which === "all" ? Prisma.sql`` : Prisma.sql`LEFT`} JOIN (
        SELECT j."id", ev."id" AS "event_id", ${jobFailedForGood} AS "parked"
        FROM "graphile_worker"."jobs" AS j ${eventsOfJob} WHERE j."task_identifier" = ${OUTBOX_TASK}) AS j
      ON j."event_id" = e."id"
      WHERE ${chosen}
      FOR UPDATE OF e`;
    if (which !== "all") {
      const byId = new Map(rows.map((row) => [row.id, row]));
      const problems = which.flatMap((id) => {
        const row = byId.get(id);
        if (!row) return [`no outbox event ${id}`];
        if (row.delivered_at)
          return [`outbox event ${id} is not parked: it was delivered at ${row.delivered_at.toISOString()}`];
        if (!row.parked) return [`outbox event ${id} is not parked: it is waiting for delivery`];
        return [];
      });
      if (problems.length > 0) throw new OutboxRequeueError(problems.join("\n"));
    }
    const jobIds = [...new Set(rows.map((row) => row.job_id!))];
    if (jobIds.length === 0) return 0;
    const [requeued] = await tx.$queryRaw<{ events: number }[]>`
      WITH j AS (SELECT "id" FROM "graphile_worker"."reschedule_jobs"(${jobIds}::bigint[], run_at => now(), attempts => 0))
      SELECT count(*)::int AS "events" FROM j ${eventsOfJob}
      JOIN "ordergate"."outbox_event" AS e ON e."id" = ev."id" AND e."delivered_at" IS NULL`;
    return requeued!.events;
  });
}
