import type { Config } from "../config";
import { type Db, Prisma } from "../db/database";
import type { Logger } from "../logger";
import type { OutboxMessages, OutboxTopic } from "./topics";
import { maskEmailsIn } from "../domain/email";

export interface OutboxEventRow<T extends OutboxTopic = OutboxTopic> {
  id: bigint;
  topic: T;
  payload: OutboxMessages[T]["payload"];
  secret: OutboxMessages[T]["secret"] | null;
  attempts: number;
}

/** Delivers one event; throwing makes the dispatcher retry it later (or park it, see below). */
export type OutboxHandler<T extends OutboxTopic> = (event: OutboxEventRow<T>) => Promise<void>;
export type OutboxHandlers = { [T in OutboxTopic]: OutboxHandler<T> };

/** Backlog numbers (for metrics). */
export interface OutboxStats {
  /** Undelivered and not parked: due, leased or waiting for a retry. */
  pending: number;
  parked: number;
  /** Since the oldest pending event was written; null when none is pending. */
  oldestPendingAgeSeconds: number | null;
}

/**
 * A leased row is retried by any instance if its holder dies before finishing; a batch that takes
 * longer (a slow mail server) renews the lease of its unfinished rows every half of it.
 */
const LEASE_SECONDS = 60;
const BATCH_SIZE = 50;

/**
 * Leases a batch of due rows and counts the attempt. The inner query's WHERE and ORDER BY match
 * the partial index `outbox_event_lease_idx` (undelivered, unparked rows by id), so it never walks
 * the delivered history (test/outbox-maintenance.test.ts EXPLAINs it).
 */
export const leaseStatementFor = (leaseSeconds: number) => Prisma.sql`
  UPDATE "ordergate"."outbox_event"
  SET "locked_until" = now() + make_interval(secs => ${leaseSeconds}), "attempts" = "attempts" + 1
  WHERE "id" IN (
    SELECT "id" FROM "ordergate"."outbox_event"
    WHERE "delivered_at" IS NULL AND "parked_at" IS NULL
      AND "available_at" <= now() AND ("locked_until" IS NULL OR "locked_until" < now())
    ORDER BY "id" LIMIT ${BATCH_SIZE}
    FOR UPDATE SKIP LOCKED)
  RETURNING "id", "topic", "payload", "secret", "attempts"`;
export const leaseStatement = leaseStatementFor(LEASE_SECONDS);

/**
 * The backlog numbers in one query; each part is answered from a partial index (lease or parked),
 * however long the delivered history.
 */
export const outboxStatsStatement = Prisma.sql`
  SELECT pending.count AS "pending", pending.oldest AS "oldestPendingAgeSeconds",
    (SELECT count(*)::int FROM "ordergate"."outbox_event" WHERE "parked_at" IS NOT NULL) AS "parked"
  FROM (
    SELECT count(*)::int AS count, extract(epoch FROM now() - min("created_at"))::float8 AS oldest
    FROM "ordergate"."outbox_event" WHERE "delivered_at" IS NULL AND "parked_at" IS NULL) AS pending`;

/**
 * Delivers outbox rows with retries and exponential backoff. Rows are leased with
 * `FOR UPDATE SKIP LOCKED`, so several instances share the table without delivering a row twice
 * while its lease holds. A delivered row keeps its payload (audit) but loses its secret. A row
 * that fails `outboxMaxAttempts` times is parked: kept whole (secret included, so it can still be
 * delivered) but never leased again until `npm run outbox -- requeue` clears `parked_at`.
 *
 * Each row is marked delivered as soon as its delivery returns, before its worker takes the next:
 * what a crash sends again is at most what was in flight, one row per worker (a topic's
 * concurrency), not the batch. Rows that finish while a mark is being written share the next one.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private stopped = true;
  /** Marks a row delivered; resolves once that is written, with the rows that finished meanwhile. */
  private readonly markDelivered = grouped((ids: bigint[]) => this.writeDelivered(ids));

  constructor(
    private readonly deps: {
      prisma: Db;
      config: Pick<Config, "outboxPollMs" | "outboxRetryBaseMs" | "outboxRetryMaxMs" | "outboxMaxAttempts">;
      handlers: OutboxHandlers;
      /**
       * Topics whose events need no order among themselves, and how many of them may be in flight
       * at once (emails: one per pooled SMTP connection). The others go one at a time, by id.
       */
      concurrency?: Partial<Record<OutboxTopic, number>>;
      /** How long a lease holds (LEASE_SECONDS; shorter in tests). */
      leaseSeconds?: number;
      logger: Logger;
    },
  ) {
    this.leaseSeconds = deps.leaseSeconds ?? LEASE_SECONDS;
    this.leaseStatement = leaseStatementFor(this.leaseSeconds);
  }

  private readonly leaseSeconds: number;
  private readonly leaseStatement: Prisma.Sql;

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Runs a delivery pass now (coalesced with one already running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.drain()
      .catch((error) => this.deps.logger.error("outbox dispatch failed", error))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.rerun) {
          this.rerun = false;
          this.wake();
        } else {
          this.timer = setTimeout(() => this.wake(), this.deps.config.outboxPollMs);
        }
      });
  }

  /** Makes the waiting events of `topic` due now (what they need is back) and delivers them. */
  async retryNow(topic: OutboxTopic): Promise<void> {
    const now = new Date();
    await this.deps.prisma.outboxEvent.updateMany({
      where: { topic, delivered_at: null, parked_at: null, available_at: { gt: now } },
      data: { available_at: now },
    });
    this.wake();
  }

  /** Stops polling and waits for the pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Backlog numbers for metrics (any instance gives the same: they are the table's). */
  async outboxStats(): Promise<OutboxStats> {
    const [stats] = await this.deps.prisma.$queryRaw<OutboxStats[]>(outboxStatsStatement);
    return stats!;
  }

  /** Delivers what is due now and waits until no delivery pass is running (tests, tooling). */
  async flush(): Promise<void> {
    await this.drain();
    while (this.running) await this.running;
  }

  /** Delivers every due row it can lease. */
  private async drain(): Promise<void> {
    for (;;) {
      const batch = await this.lease();
      if (batch.length > 0) await this.deliverBatch(batch);
      if (batch.length < BATCH_SIZE || this.stopped) return;
    }
  }

  /**
   * Delivers a leased batch, each topic's events in id order or, for the topics that allow it,
   * several at once; each delivered row is marked as soon as it is done.
   */
  private async deliverBatch(batch: OutboxEventRow[]): Promise<void> {
    const unfinished = new Set(batch.map((event) => event.id));
    const renewal = setInterval(
      () => {
        this.renewLease([...unfinished]).catch((error) =>
          this.deps.logger.warn("could not renew an outbox lease", { reason: (error as Error).message }),
        );
      },
      (this.leaseSeconds * 1000) / 2,
    );
    try {
      const byTopic = new Map<OutboxTopic, OutboxEventRow[]>();
      for (const event of batch) byTopic.set(event.topic, [...(byTopic.get(event.topic) ?? []), event]);
      await allOrFirstFailure(
        [...byTopic].map(([topic, events]) =>
          eachConcurrently(events, this.deps.concurrency?.[topic] ?? 1, async (event) => {
            if (await this.deliver(event)) await this.markDelivered(event.id);
            unfinished.delete(event.id);
          }),
        ),
      );
    } finally {
      clearInterval(renewal);
    }
  }

  private async writeDelivered(ids: bigint[]): Promise<void> {
    // One statement text whatever the number of rows, so it stays prepared (src/db/database.ts).
    // parked_at too: another instance may have parked one meanwhile (an attempt outlived its lease).
    await this.deps.prisma.$executeRaw`
      UPDATE "ordergate"."outbox_event"
      SET "delivered_at" = now(), "parked_at" = NULL, "locked_until" = NULL, "last_error" = NULL, "secret" = NULL
      WHERE "id" = ANY(${ids}::bigint[])`;
  }

  private async renewLease(ids: bigint[]): Promise<void> {
    if (ids.length === 0) return;
    await this.deps.prisma.$executeRaw`
      UPDATE "ordergate"."outbox_event" SET "locked_until" = now() + make_interval(secs => ${this.leaseSeconds})
      WHERE "id" = ANY(${ids}::bigint[]) AND "delivered_at" IS NULL AND "parked_at" IS NULL`;
  }

  private lease(): Promise<OutboxEventRow[]> {
    return this.deps.prisma
      .$queryRaw<OutboxEventRow[]>(this.leaseStatement)
      .then((rows) => rows.sort((a, b) => (a.id < b.id ? -1 : 1)));
  }

  /** True when the event was handled; a failure is recorded here (a retry later, or parking). */
  private async deliver(event: OutboxEventRow): Promise<boolean> {
    const { outboxMaxAttempts, outboxRetryBaseMs, outboxRetryMaxMs } = this.deps.config;
    if (event.attempts > outboxMaxAttempts) {
      // The final attempt was leased but its outcome never recorded: the instance stopped during
      // it, possibly because of this very event, and trying again could loop forever. (Rows past a
      // lowered OUTBOX_MAX_ATTEMPTS land here too.) This lease is no attempt: it is not counted.
      await this.park(
        event,
        event.attempts - 1,
        "the final attempt never finished (its instance stopped or its lease ran out)",
      );
      return false;
    }
    const handler = this.deps.handlers[event.topic] as OutboxHandler<OutboxTopic> | undefined;
    try {
      if (!handler) throw new Error(`no handler for outbox topic ${event.topic}`);
      await handler(event);
    } catch (error) {
      // Logged and stored: a mail server's refusal names the recipient, which stays masked.
      const reason = maskEmailsIn(error instanceof Error ? error.message : String(error));
      if (event.attempts >= outboxMaxAttempts) {
        await this.park(event, event.attempts, reason);
        return false;
      }
      const delayMs = Math.min(outboxRetryBaseMs * 2 ** (event.attempts - 1), outboxRetryMaxMs);
      this.deps.logger.warn("outbox delivery failed, retrying", {
        eventId: String(event.id),
        topic: event.topic,
        attempt: event.attempts,
        retryInMs: delayMs,
        reason,
      });
      await this.deps.prisma.outboxEvent.update({
        where: { id: event.id },
        data: { locked_until: null, available_at: new Date(Date.now() + delayMs), last_error: reason.slice(0, 2000) },
      });
      return false;
    }
    return true;
  }

  /**
   * Takes the row out of delivery, keeping its payload and secret for a re-queue. Conditional, so
   * that of two instances whose leases overlapped (a slow attempt) only one parks it and logs.
   */
  private async park(event: OutboxEventRow, attempts: number, reason: string): Promise<void> {
    const { count } = await this.deps.prisma.outboxEvent.updateMany({
      where: { id: event.id, delivered_at: null, parked_at: null },
      data: { parked_at: new Date(), attempts, locked_until: null, last_error: reason.slice(0, 2000) },
    });
    if (count === 0) return;
    this.deps.logger.warn(
      "outbox event parked after too many failed attempts; " +
        "it is kept, and goes out again after `npm run outbox -- requeue`",
      {
        eventId: String(event.id),
        topic: event.topic,
        attempts,
        reason,
      },
    );
  }
}

/**
 * Runs `work` over `items`, at most `limit` at a time. After a failure (the database is gone) no
 * item is started, so nothing more is sent that could not be marked.
 */
async function eachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        next = items.length;
        throw error;
      }
    }
  };
  await allOrFirstFailure(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Waits for all, then rejects with the first failure if any (Promise.all would not wait). */
async function allOrFirstFailure(promises: Promise<void>[]): Promise<void> {
  const failure = (await Promise.allSettled(promises)).find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
}

/**
 * Calls `run` with the items given while no call is running, and again with those that come in
 * meanwhile (a group commit): each item's promise settles with the call that took it.
 */
function grouped<T>(run: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  let waiting: T[] = [];
  let nextCall: Promise<void> | undefined;
  let lastCall: Promise<unknown> = Promise.resolve();
  return (item) => {
    waiting.push(item);
    nextCall ??= lastCall.then(() => {
      const items = waiting;
      waiting = [];
      nextCall = undefined;
      return run(items);
    });
    lastCall = nextCall.catch(() => {});
    return nextCall;
  };
}
