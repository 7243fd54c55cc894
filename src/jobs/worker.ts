// The job worker: graphile-worker's runner, the outbox task it runs, and what graphile-worker does
// not do for us (leases that free a dead instance's jobs, a cap on its backoff, rows read and
// marked in groups). One class whose parts share the runner's state: longer than most files.
import { EventEmitter } from "node:events";
import { type JobHelpers, run, runOnce, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import pg from "pg";
import type { Config } from "../config";
import { type Db, Prisma } from "../db/database";
import { workerLogger } from "../db/migrate";
import { type SqlRows, sqlRows } from "../db/sql";
import type { Logger } from "../lib/logger";
import { maskEmailsIn } from "../domain/email";
import { BACKGROUND_GATHER_MS, grouped } from "../lib/grouped";
import type { OutboxEventRow, OutboxHandler, OutboxHandlers, OutboxTopic } from "../events/topics";
import { eventsOfJob, OUTBOX_TASK, type OutboxStats, readOutboxStats } from "./outbox-jobs";

/** The log line of an event parked for good (operators grep for it). */
const PARKED_LOG =
  "outbox event parked after too many failed attempts; it is kept, and goes out again after " +
  "`npm run outbox -- requeue`";

/** An outbox job's payload: the ids of the rows its transaction wrote, or one row's (a job added before batches). */
type OutboxJobPayload = string[] | { id: string | number };

/** An outbox row as a job reads it. */
interface StoredOutboxEvent {
  id: bigint;
  topic: OutboxTopic;
  payload: never;
  secret: never;
  delivered: boolean;
}

/**
 * A worker pool's jobs are unlocked by the others once its lease has not been renewed for this
 * long (its process died): graphile-worker alone would wait 4 hours.
 */
const LEASE_SECONDS = 60;
/**
 * How often the lease is renewed and other pools' leases are checked (a dead pool's jobs wait at
 * most this past its lease).
 */
const LEASE_CHECK_MS = 5000;

/** graphile-worker's fixed backoff: a failed attempt n is retried exp(min(n, 10)) seconds later. */
export const retryDelayMs = (attempt: number) => Math.round(Math.exp(Math.min(attempt, 10)) * 1000);

/**
 * Delivers outbox rows through graphile-worker. The outbox triggers add one job per writing
 * transaction as it commits, holding its rows' ids; graphile-worker picks it up at once
 * (LISTEN/NOTIFY, polling for retries), locks it so that no other instance runs it meanwhile,
 * retries the rows that failed with its exponential backoff and, after `OUTBOX_MAX_ATTEMPTS`, keeps
 * them as a permanently failed job: *parked*, until `npm run outbox -- requeue`. A delivered row is
 * marked (`delivered_at`, its secret erased) as soon as its delivery returns, before the job
 * completes: what a crash sends again is at most what was in flight. A worker pool that dies leaves
 * its jobs locked; its lease (`worker_lease`) runs out and the other instances unlock them.
 */
export class JobWorker {
  private runner: Runner | undefined;
  private pool: pg.Pool | undefined;
  private poolId: string | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly leaseSeconds: number;
  // Jobs fetched together start a moment apart: their reads and marks wait that long to go together.
  private readonly markDelivered = grouped((rows: [bigint, number][]) => this.writeDelivered(rows), {
    gatherMs: BACKGROUND_GATHER_MS,
  });
  private readonly readEvent = grouped((ids: bigint[]) => this.readEvents(ids), { gatherMs: BACKGROUND_GATHER_MS });

  constructor(
    private readonly deps: {
      prisma: Db;
      /** graphile-worker opens its own connections (LISTEN needs one of its own). */
      databaseUrl: string;
      config: Pick<Config, "outboxPollMs" | "outboxMaxAttempts" | "outboxRetryMaxMs">;
      handlers: OutboxHandlers;
      /** How many deliveries at once (emails: one per pooled SMTP connection). */
      concurrency?: number;
      /** How long a pool's lease holds (LEASE_SECONDS; shorter in tests). */
      leaseSeconds?: number;
      /** Other tasks this runner runs (the purge), and their cron lines. */
      tasks?: TaskList;
      crontab?: string;
      logger: Logger;
    },
  ) {
    this.leaseSeconds = deps.leaseSeconds ?? LEASE_SECONDS;
  }

  private taskList(): TaskList {
    return {
      ...this.deps.tasks,
      [OUTBOX_TASK]: (payload, helpers) => this.runJob(payload as OutboxJobPayload, helpers),
    };
  }

  private workerPool(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({
        connectionString: this.deps.databaseUrl,
        max: (this.deps.concurrency ?? 1) + 3,
        application_name: "ordergate-worker",
      });
      const onError = (error: Error) =>
        this.deps.logger.warn("worker database connection failed", { reason: error.message });
      this.pool.on("error", onError);
      this.pool.on("connect", (client) => client.on("error", onError));
    }
    return this.pool;
  }

  private rows: SqlRows | undefined;
  /**
   * A statement of the worker's own (its upkeep: leases, backoff cap; the deliveries' reads and
   * marks) on its own connections, off the request pool, without Prisma's engine.
   */
  private sql<Row>(statement: Prisma.Sql): Promise<Row[]> {
    this.rows ??= sqlRows(this.workerPool());
    return this.rows<Row>(statement);
  }

  private starting: Promise<void> | undefined;

  /** Starts the worker pool: from now on, jobs due are run here (and on every other instance). */
  start(): Promise<void> {
    this.starting ??= this.startRunner();
    return this.starting;
  }

  private async startRunner(): Promise<void> {
    await this.deps.prisma
      .$executeRaw`UPDATE "ordergate"."outbox_setting" SET "max_attempts" = ${this.deps.config.outboxMaxAttempts}
                   WHERE "id" = 1`;
    const events: WorkerEvents = new EventEmitter() as WorkerEvents;
    events.on("pool:create", ({ workerPool }) => (this.poolId = workerPool.id));
    this.runner = await run({
      pgPool: this.workerPool(),
      taskList: this.taskList(),
      concurrency: this.deps.concurrency ?? 1,
      pollInterval: this.deps.config.outboxPollMs,
      noHandleSignals: true,
      logger: workerLogger(this.deps.logger),
      events,
      crontab: this.deps.crontab ?? "",
      preset: {
        worker: {
          // Jobs are fetched and locked in batches, and their outcomes written in batches: fewer
          // statements for many short jobs (a crash leaves a batch locked; the leases unlock it).
          // After a fetch that found under half a batch, the next waits 20 ms for more to come.
          localQueue: {
            size: 2 * (this.deps.concurrency ?? 1),
            refetchDelay: { durationMs: 20, threshold: this.deps.concurrency ?? 1 },
          },
          completeJobBatchDelay: 10,
          failJobBatchDelay: 0,
        },
      },
    });
    // A fatal error (its database connection lost for good) ends the runner: logged, never an
    // unhandled rejection that would take the process down mid-shutdown.
    this.runner.promise.catch((error: Error) => this.deps.logger.error("the job worker stopped on an error", error));
    await this.renewLease();
    this.leaseTimer = setInterval(
      () => {
        this.renewLease().catch((error) =>
          this.deps.logger.warn("could not renew the worker lease", { reason: (error as Error).message }),
        );
      },
      Math.min(LEASE_CHECK_MS, (this.leaseSeconds * 1000) / 2, this.deps.config.outboxRetryMaxMs),
    );
  }

  /** Makes the waiting events of `topic` due now (what they need is back); picked up at the next poll. */
  async retryNow(topics: readonly OutboxTopic[]): Promise<void> {
    await this.deps.prisma.$executeRaw`
      SELECT FROM "graphile_worker"."reschedule_jobs"(ARRAY(
        SELECT DISTINCT j."id" FROM "graphile_worker"."jobs" AS j ${eventsOfJob}
        JOIN "ordergate"."outbox_event" AS e ON e."id" = ev."id"
        WHERE j."task_identifier" = ${OUTBOX_TASK} AND e."topic" = ANY(${topics}::varchar[]) AND j."locked_at" IS NULL
          AND j."attempts" < j."max_attempts" AND j."run_at" > now()), run_at => now())`;
  }

  /** Stops taking jobs and waits for those running; its lease goes, so nothing waits for it. */
  async stop(): Promise<void> {
    // A start under way finishes first, so that nothing runs after the stop.
    await this.starting?.catch(() => {});
    this.starting = undefined;
    clearInterval(this.leaseTimer);
    const runner = this.runner;
    this.runner = undefined;
    // With the database gone (stopped with us), the jobs it holds cannot be handed back: other
    // instances take them over once its lease runs out. That is no reason to fail the shutdown.
    await runner
      ?.stop()
      .catch((error: Error) =>
        this.deps.logger.warn("the job worker stopped without handing back its jobs", { reason: error.message }),
      );
    if (this.poolId) {
      await this.deps.prisma.$executeRaw`DELETE FROM "ordergate"."worker_lease" WHERE "pool_id" = ${this.poolId}`.catch(
        () => {},
      );
      this.poolId = undefined;
    }
    const pool = this.pool;
    this.pool = undefined;
    this.rows = undefined;
    await pool?.end();
  }

  /** Backlog numbers (any instance gives the same: they are the queue's). */
  outboxStats(): Promise<OutboxStats> {
    return readOutboxStats(this.deps.prisma);
  }

  /**
   * Delivers what is due now and waits until no outbox job is due or running (tests, tooling).
   * Stopped, it runs them here, once (graphile-worker's runOnce).
   */
  async flush(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.recoverStaleJobs();
      if (!this.runner)
        await runOnce({
          pgPool: this.workerPool(),
          taskList: this.taskList(),
          noHandleSignals: true,
          logger: workerLogger(this.deps.logger),
        });
      const [row] = await this.deps.prisma.$queryRaw<{ due: number }[]>`
        SELECT count(*)::int AS due FROM "graphile_worker"."jobs"
        WHERE "task_identifier" = ANY(${Object.keys(this.taskList())}::text[])
          AND (("attempts" < "max_attempts" AND "run_at" <= now()) OR "locked_at" IS NOT NULL)`;
      const due = row!.due;
      if (due === 0) return;
      // A job added while the runner was still setting up its LISTEN waits for the next poll: wake it.
      if (this.runner) await this.sql(Prisma.sql`SELECT pg_notify('jobs:insert', '{"count":1}')`);
      if (Date.now() > deadline) throw new Error(`outbox flush: ${due} jobs still due after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * graphile-worker's backoff (e^n seconds after the n-th failure) cannot be configured: a retry
   * due later than OUTBOX_RETRY_MAX from now is brought forward to it, so that once what a
   * delivery needs is back, nothing waits hours for its next attempt.
   */
  private async capRetryDelays(): Promise<void> {
    const cap = this.deps.config.outboxRetryMaxMs / 1000;
    await this.sql(Prisma.sql`
      SELECT FROM "graphile_worker"."reschedule_jobs"(ARRAY(
        SELECT j."id" FROM "graphile_worker"."jobs" AS j
        WHERE j."task_identifier" = ${OUTBOX_TASK} AND j."locked_at" IS NULL AND j."attempts" > 0
          AND j."attempts" < j."max_attempts" AND j."run_at" > now() + make_interval(secs => ${cap})),
        run_at => now() + make_interval(secs => ${cap}))`);
  }

  /** Renews this pool's lease, caps retry delays, then unlocks the jobs of pools whose lease ran out. */
  private async renewLease(): Promise<void> {
    await this.capRetryDelays();
    if (this.poolId) {
      await this.sql(Prisma.sql`
        INSERT INTO "ordergate"."worker_lease" ("pool_id", "renewed_at") VALUES (${this.poolId}, now())
        ON CONFLICT ("pool_id") DO UPDATE SET "renewed_at" = now()`);
    }
    await this.recoverStaleJobs();
  }

  /**
   * Unlocks the jobs of worker pools whose lease ran out (their process was killed or lost):
   * graphile-worker's own recovery waits 4 hours. graphile-worker counted the attempt they were
   * in; a job that was on its final attempt is not tried again (it might be what killed its
   * instance): it is parked, with a reason, and logged as such.
   */
  private async recoverStaleJobs(): Promise<void> {
    const lease = this.leaseSeconds;
    const stale = await this.sql<{ pool_id: string }>(Prisma.sql`
      SELECT DISTINCT j."locked_by" AS "pool_id" FROM "graphile_worker"."jobs" AS j
      WHERE j."locked_by" IS NOT NULL AND j."locked_at" < now() - make_interval(secs => ${lease})
        AND NOT EXISTS (SELECT FROM "ordergate"."worker_lease" AS l
                        WHERE l."pool_id" = j."locked_by"
                          AND l."renewed_at" > now() - make_interval(secs => ${lease}))`);
    if (stale.length === 0) return;
    const poolIds = stale.map((row) => row.pool_id);
    const finals = await this.sql<{ job_id: bigint; id: bigint; topic: string; attempts: number }>(Prisma.sql`
      SELECT j."id" AS "job_id", e."id", e."topic", j."attempts"::int AS "attempts"
      FROM "graphile_worker"."jobs" AS j ${eventsOfJob} JOIN "ordergate"."outbox_event" AS e ON e."id" = ev."id"
      WHERE j."task_identifier" = ${OUTBOX_TASK} AND j."locked_by" = ANY(${poolIds}::text[])
        AND j."attempts" >= j."max_attempts"`);
    await this.sql(Prisma.sql`SELECT FROM "graphile_worker"."force_unlock_workers"(${poolIds}::text[])`);
    this.deps.logger.warn("unlocked the jobs of worker pools whose lease ran out (their instance stopped)", {
      poolIds,
    });
    if (finals.length === 0) return;
    const reason = "the final attempt never finished (its instance stopped or its lease ran out)";
    await this.sql(
      Prisma.sql`SELECT FROM "graphile_worker"."permanently_fail_jobs"(
        ${[...new Set(finals.map((row) => row.job_id))]}::bigint[], ${reason})`,
    );
    for (const row of finals) {
      this.deps.logger.warn(PARKED_LOG, {
        eventId: String(row.id),
        topic: row.topic,
        attempts: row.attempts,
        reason,
      });
    }
    await this.sql(Prisma.sql`DELETE FROM "ordergate"."worker_lease" WHERE "renewed_at" < now() - interval '1 day'`);
  }

  /**
   * One outbox job: each of its rows delivered on its own, in parallel. The answer is a promise per
   * row, so that graphile-worker retries (and at last parks) only the rows that failed, together.
   */
  private async runJob(payload: OutboxJobPayload, helpers: JobHelpers): Promise<Promise<void>[] | void> {
    if (!Array.isArray(payload)) return this.deliver(BigInt(payload.id), helpers.job);
    return payload.map((id) => this.deliver(BigInt(id), helpers.job));
  }

  /** Delivers a row unless it is gone (purged) or already delivered (a crash between the mark and the job's completion). */
  private async deliver(id: bigint, job: JobHelpers["job"]): Promise<void> {
    const row = await this.readEvent(id);
    if (!row || row.delivered) return;
    const attempt = job.attempts;
    const event: OutboxEventRow = {
      id: row.id,
      topic: row.topic,
      payload: row.payload,
      secret: row.secret,
      attempts: attempt,
    };
    const handler = this.deps.handlers[event.topic] as OutboxHandler<OutboxTopic> | undefined;
    try {
      if (!handler) throw new Error(`no handler for outbox topic ${event.topic}`);
      await handler(event);
    } catch (error) {
      // Logged and stored (graphile-worker's last_error): a mail server's refusal names the
      // recipient, which stays masked.
      const reason = maskEmailsIn(error instanceof Error ? error.message : String(error)).slice(0, 2000);
      if (attempt >= job.max_attempts) {
        this.deps.logger.warn(PARKED_LOG, {
          eventId: String(event.id),
          topic: event.topic,
          attempts: attempt,
          reason,
        });
      } else {
        this.deps.logger.warn("outbox delivery failed, retrying", {
          eventId: String(event.id),
          topic: event.topic,
          attempt,
          retryInMs: Math.min(retryDelayMs(attempt), this.deps.config.outboxRetryMaxMs),
          reason,
        });
      }
      throw new Error(reason);
    }
    await this.markDelivered([event.id, attempt]);
  }

  /** The rows of jobs that start together, in one query (undefined for a row purged meanwhile). */
  private async readEvents(ids: bigint[]): Promise<(StoredOutboxEvent | undefined)[]> {
    const rows = await this.sql<StoredOutboxEvent>(Prisma.sql`
      SELECT "id", "topic", "payload", "secret", "delivered_at" IS NOT NULL AS "delivered"
      FROM "ordergate"."outbox_event" WHERE "id" = ANY(${ids}::bigint[])`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id));
  }

  /** Marks rows delivered, erasing their secret, with the attempts it took. */
  private async writeDelivered(rows: [bigint, number][]): Promise<void[]> {
    // One statement text whatever the number of rows, so it stays prepared (src/db/sql.ts).
    await this.sql(Prisma.sql`
      UPDATE "ordergate"."outbox_event" AS e SET "delivered_at" = now(), "secret" = NULL, "attempts" = d."attempts"
      FROM unnest(${rows.map(([id]) => id)}::bigint[], ${rows.map(([, attempts]) => attempts)}::int[])
           AS d("id", "attempts")
      WHERE e."id" = d."id"`);
    return rows.map(() => undefined);
  }
}
