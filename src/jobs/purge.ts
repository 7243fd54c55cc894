import type { Config } from "../config";
import type { Db } from "../db/database";
import type { Logger } from "../lib/logger";

/** Rows per DELETE: each statement holds its row locks briefly, whatever the backlog. */
const PURGE_BATCH_SIZE = 1000;

export interface PurgeResult {
  outboxEvents: number;
  sessions: number;
}

/**
 * Deletes delivered outbox events older than `outboxRetentionMs` (kept until then for audit) and
 * expired customer sessions, in bounded batches. Undelivered and parked events are never deleted:
 * only rows with a `delivered_at` qualify. Several instances may purge at once: a row another one
 * deleted first is not counted (a run may then stop early; the next one picks up the rest).
 * graphile-worker runs it (the task `ordergate.purge`): hourly by its cron, on one instance, and
 * once at each start (src/app/gateway.ts).
 */
export class PurgeJob {
  private stopped = false;

  constructor(
    private readonly deps: {
      prisma: Db;
      config: Pick<Config, "outboxRetentionMs">;
      logger: Logger;
      batchSize?: number;
    },
  ) {}

  /** A purge in flight ends after its current batch (shutdown need not wait for a long backlog). */
  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** One purge of everything due now. */
  async runOnce(): Promise<PurgeResult> {
    // Cutoffs fixed once per run, so the loops end even while rows keep qualifying. They come from
    // this clock, as `delivered_at` and `expires_at` do (both are written by the application).
    const now = Date.now();
    const deliveredBefore = new Date(now - this.deps.config.outboxRetentionMs);
    const expiredBy = new Date(now);
    // Oldest first: each batch is a range scan of a small index (outbox_event_delivered_idx,
    // customer_session_expires_at_idx), never a pass over the whole table.
    const outboxEvents = await this.inBatches(
      (limit) => this.deps.prisma.$executeRaw`
        DELETE FROM "ordergate"."outbox_event" WHERE "id" IN (
          SELECT "id" FROM "ordergate"."outbox_event"
          WHERE "delivered_at" < ${deliveredBefore} ORDER BY "delivered_at" LIMIT ${limit})`,
    );
    const sessions = await this.inBatches(
      (limit) => this.deps.prisma.$executeRaw`
        DELETE FROM "ordergate"."customer_session" WHERE "id" IN (
          SELECT "id" FROM "ordergate"."customer_session"
          WHERE "expires_at" <= ${expiredBy} ORDER BY "expires_at" LIMIT ${limit})`,
    );
    if (outboxEvents + sessions > 0)
      this.deps.logger.info("purged delivered outbox events and expired sessions", { outboxEvents, sessions });
    return { outboxEvents, sessions };
  }

  private async inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    const limit = this.deps.batchSize ?? PURGE_BATCH_SIZE;
    let total = 0;
    while (!this.stopped) {
      const deleted = await deleteBatch(limit);
      total += deleted;
      if (deleted < limit) break;
    }
    return total;
  }
}
