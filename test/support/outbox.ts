import type { Db } from "../../src/db/database";
import { Prisma } from "../../src/db/database";
import { ORDER_CLAIM_CANCELED, ORDER_CLAIM_DECLINED } from "../../src/events/topics";
import { eventsOfJob, OUTBOX_TASK } from "../../src/jobs/outbox-jobs";

/**
 * An outbox row as the tests look at it: the row (the message: payload, secret, delivered_at) with
 * its graphile-worker job's state (the schedule). A delivered row's job is gone (graphile-worker
 * deletes completed jobs); its `attempts` are then the row's own, written when it was delivered.
 */
export interface OutboxState {
  id: bigint;
  topic: string;
  payload: Prisma.JsonValue;
  secret: Prisma.JsonValue | null;
  created_at: Date;
  delivered_at: Date | null;
  attempts: number;
  last_error: string | null;
  /** When its job failed for the last time (permanently failed: parked); null otherwise. */
  parked_at: Date | null;
  /** Its job is locked by a worker (running, or left by one that died). */
  locked: boolean;
  job_id: bigint | null;
}

/** The job that delivers outbox row `id` (a subquery): the job its transaction's commit added. */
const jobsOf = (id: bigint) => Prisma.sql`(SELECT j."id" FROM "graphile_worker"."jobs" AS j ${eventsOfJob}
  WHERE j."task_identifier" = ${OUTBOX_TASK} AND ev."id" = ${id}::bigint)`;

export async function outboxEvents(prisma: Db, where: { id?: bigint; topic?: string } = {}): Promise<OutboxState[]> {
  return prisma.$queryRaw<OutboxState[]>`
    SELECT e."id", e."topic", e."payload", e."secret", e."created_at", e."delivered_at",
      COALESCE(j."attempts", e."attempts")::int AS "attempts", j."last_error",
      CASE WHEN j."attempts" >= j."max_attempts" AND j."locked_at" IS NULL THEN j."updated_at" END AS "parked_at",
      j."locked_at" IS NOT NULL AS "locked", j."id" AS "job_id"
    FROM "ordergate"."outbox_event" AS e
    LEFT JOIN (SELECT j.*, ev."id" AS "event_id" FROM "graphile_worker"."jobs" AS j ${eventsOfJob}
               WHERE j."task_identifier" = ${OUTBOX_TASK}) AS j ON j."event_id" = e."id"
    WHERE (${where.id ?? null}::bigint IS NULL OR e."id" = ${where.id ?? null}::bigint)
      AND (${where.topic ?? null}::varchar IS NULL OR e."topic" = ${where.topic ?? null}::varchar)
    ORDER BY e."id"`;
}

export async function outboxEvent(
  prisma: Db,
  where: { id?: bigint; topic?: string },
): Promise<OutboxState | undefined> {
  return (await outboxEvents(prisma, where))[0];
}

/** Sets an undelivered row's job's attempts (graphile-worker's reschedule_jobs), and its max with `max`. */
export async function setOutboxJobAttempts(prisma: Db, id: bigint, attempts: number, max?: number): Promise<void> {
  await prisma.$executeRaw`
    SELECT FROM "graphile_worker"."reschedule_jobs"(
      ARRAY${jobsOf(id)}, attempts => ${attempts}::int, max_attempts => ${max ?? null}::int)`;
}

/**
 * Parks an undelivered row's job as failures would (graphile-worker's permanently_fail_jobs); with
 * `attempts`, as that many failures would. A running job is left be, as graphile-worker does.
 */
export async function parkOutboxEvent(
  prisma: Db,
  id: bigint,
  reason = "failed in a test",
  attempts?: number,
): Promise<void> {
  if (attempts !== undefined) await setOutboxJobAttempts(prisma, id, attempts, attempts);
  await prisma.$executeRaw`
    SELECT FROM "graphile_worker"."permanently_fail_jobs"(
      ARRAY${jobsOf(id)}, ${reason})`;
}

/**
 * Gives an undelivered row a job as a worker pool that died mid-attempt leaves it: locked by a pool
 * with no lease, long enough ago that its lease would have run out, after `attempts` attempts. In
 * one transaction, so that no running worker takes the job before it is locked (graphile-worker's
 * private table: no public function locks a job for someone else).
 */
export async function enqueueOutboxJobLockedByDeadWorker(prisma: Db, id: bigint, attempts: number): Promise<void> {
  await prisma.$transaction([
    prisma.$executeRaw`
      SELECT FROM "graphile_worker"."add_job"(${OUTBOX_TASK}, json_build_array(${id}::bigint::text),
        max_attempts => (SELECT "max_attempts" FROM "ordergate"."outbox_setting" WHERE "id" = 1))`,
    prisma.$executeRaw`
      UPDATE "graphile_worker"."_private_jobs" SET "locked_at" = now() - interval '10 minutes', "locked_by" = 'pool-dead-instance', "attempts" = ${attempts}
      WHERE "id" IN ${jobsOf(id)}`,
  ]);
}

/** Leaves a row's existing job as a worker pool that died mid-attempt leaves it (as above), after `attempts` attempts. */
export async function lockOutboxJobAsDeadWorker(prisma: Db, id: bigint, attempts: number): Promise<void> {
  await prisma.$executeRaw`
    UPDATE "graphile_worker"."_private_jobs" SET "locked_at" = now() - interval '10 minutes', "locked_by" = 'pool-dead-instance', "attempts" = ${attempts}
    WHERE "id" IN ${jobsOf(id)}`;
}

/** Leaves a row's job taken by a live worker just now (its attempt running), after `attempts` attempts. */
export async function lockOutboxJob(prisma: Db, id: bigint, attempts: number): Promise<void> {
  await prisma.$executeRaw`
    UPDATE "graphile_worker"."_private_jobs" SET "locked_at" = now(), "locked_by" = 'pool-alive', "attempts" = ${attempts}
    WHERE "id" IN ${jobsOf(id)}`;
}

/** Makes an undelivered row's job wait (a retry due later), after `attempts` attempts. */
export async function delayOutboxJob(prisma: Db, id: bigint, attempts: number, runAt: Date): Promise<void> {
  await prisma.$executeRaw`
    SELECT FROM "graphile_worker"."reschedule_jobs"(
      ARRAY${jobsOf(id)}, run_at => ${runAt}::timestamptz, attempts => ${attempts}::int)`;
}

/** Handlers for the status topics a test does not write (OutboxHandlers needs one per topic). */
export const idleDeclineAndCancelHandlers = {
  [ORDER_CLAIM_DECLINED]: async () => {},
  [ORDER_CLAIM_CANCELED]: async () => {},
};
