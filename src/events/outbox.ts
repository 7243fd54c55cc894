import { Prisma } from "../db/database";
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
