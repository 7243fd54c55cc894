import { type Db, Prisma } from "../db/database";
import type { OutboxMessages, OutboxTopic } from "./topics";

/** Writes an event in the caller's transaction, so it exists if and only if the change commits. */
export async function enqueueOutboxEvent<T extends OutboxTopic>(
  tx: Prisma.TransactionClient,
  topic: T,
  message: OutboxMessages[T],
): Promise<void> {
  await tx.outboxEvent.create({
    data: {
      topic,
      payload: message.payload as unknown as Prisma.InputJsonValue,
      secret: (message.secret as Prisma.InputJsonValue | undefined) ?? undefined,
    },
  });
}

/** What an operator sees of a parked event: never its payload (addresses) or secret (token). */
export interface ParkedOutboxEvent {
  id: bigint;
  topic: string;
  attempts: number;
  parked_at: Date;
  last_error: string | null;
}

/** Parked events (see OutboxDispatcher), oldest first. */
export async function listParkedOutboxEvents(prisma: Db): Promise<ParkedOutboxEvent[]> {
  const rows = await prisma.outboxEvent.findMany({
    where: { parked_at: { not: null } },
    orderBy: { id: "asc" },
    select: { id: true, topic: true, attempts: true, parked_at: true, last_error: true },
  });
  return rows.map((row) => ({ ...row, parked_at: row.parked_at! }));
}

/** Some of the ids given to re-queue are unknown or not parked; nothing was re-queued. */
export class OutboxRequeueError extends Error {
  override name = "OutboxRequeueError";
}

/**
 * Gives parked events a fresh set of attempts, due now; a running dispatcher picks them up at its
 * next poll. Given ids must all name parked events, or none is re-queued. Returns how many were.
 */
export async function requeueParkedOutboxEvents(prisma: Db, which: bigint[] | "all"): Promise<number> {
  const fresh = { parked_at: null, attempts: 0, available_at: new Date(), locked_until: null };
  if (which === "all")
    return (await prisma.outboxEvent.updateMany({ where: { parked_at: { not: null } }, data: fresh })).count;
  return prisma.$transaction(async (tx) => {
    // Locked, so that what is checked is what gets updated (a pending row could be parked meanwhile).
    const rows = await tx.$queryRaw<{ id: bigint; parked_at: Date | null; delivered_at: Date | null }[]>`
      SELECT "id", "parked_at", "delivered_at" FROM "ordergate"."outbox_event"
      WHERE "id" IN (${Prisma.join(which)}) FOR UPDATE`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    const problems = which.flatMap((id) => {
      const row = byId.get(id);
      if (!row) return [`no outbox event ${id}`];
      if (row.delivered_at)
        return [`outbox event ${id} is not parked: it was delivered at ${row.delivered_at.toISOString()}`];
      if (!row.parked_at) return [`outbox event ${id} is not parked: it is waiting for delivery`];
      return [];
    });
    if (problems.length > 0) throw new OutboxRequeueError(problems.join("\n"));
    return (await tx.outboxEvent.updateMany({ where: { id: { in: which } }, data: fresh })).count;
  });
}
