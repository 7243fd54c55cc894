import { createPubSub, type PubSub, Repeater } from "graphql-yoga";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { connectRedisEventTarget } from "./redis";
import { ORDER_CLAIM_UPDATED, type OrderClaimUpdated, ORDER_UPDATE_TOKEN_CREATED, type OrderUpdateTokenCreated } from "./topics";

/** Events that stay in this process: Medusa's token event carries the raw claim token. */
export type LocalTopics = { [ORDER_UPDATE_TOKEN_CREATED]: [OrderUpdateTokenCreated] };
/** Events every instance's subscribers see; keyed by the claimer's customer id. Never secrets. */
export type SharedTopics = { [ORDER_CLAIM_UPDATED]: [claimerCustomerId: string, update: OrderClaimUpdated] };

/** `up`/`down` for Redis; `in-process` when REDIS_URL is unset (nothing to be down). */
export type BrokerStatus = "up" | "down" | "in-process";

export interface EventBus {
  /** In-process pub/sub (Yoga's), for listeners inside this instance. Never crosses Redis. */
  readonly local: PubSub<LocalTopics>;
  /**
   * Publishes a claim status change to every instance. Resolves once the broker has it and
   * rejects while Redis is unreachable, so the outbox retries the event later.
   */
  publishClaimUpdate(update: OrderClaimUpdated): Promise<void>;
  /** One customer's claim status changes, until the stream is returned or `endSubscriptions`. */
  claimUpdates(customerId: string): Repeater<OrderClaimUpdated>;
  /** How many `claimUpdates` streams are listening on this instance. */
  openSubscriptions(): number;
  brokerStatus(): BrokerStatus;
  /** Called each time the connection to Redis is (re)established (never without Redis). */
  onBrokerConnected(listener: () => void): void;
  /** Completes every open `claimUpdates` stream (shutdown: subscribers see a clean end). */
  endSubscriptions(): void;
  /** Ends subscriptions and disconnects from Redis. */
  close(): Promise<void>;
}

/** In-process pub/sub, or Yoga's Redis event target when `REDIS_URL` is set. */
export function createEventBus(config: Pick<Config, "redisUrl">, logger: Logger): EventBus {
  const local = createPubSub<LocalTopics>();
  let endAll!: () => void;
  const ended = new Promise<void>((resolve) => (endAll = resolve));

  let open = 0;
  const redis = config.redisUrl ? connectRedisEventTarget(config.redisUrl, logger) : undefined;
  const shared = createPubSub<SharedTopics>(redis ? { eventTarget: redis.eventTarget } : undefined);

  return {
    local,
    async publishClaimUpdate(update) {
      if (redis?.status() === "down") throw new Error("Redis is unreachable; the event waits in the outbox");
      shared.publish(ORDER_CLAIM_UPDATED, update.claimerCustomerId, update);
      await redis?.lastPublish();
    },
    // Repeaters, not async generators: `return()` must end a stream that is waiting for its next event.
    claimUpdates: (customerId) =>
      new Repeater<OrderClaimUpdated>(async (push, stop) => {
        // Runs at the first `next()`: the listener is in place when that call returns.
        const updates = shared.subscribe(ORDER_CLAIM_UPDATED, customerId);
        open++;
        void Promise.race([stop, ended]).then(() => updates.return());
        try {
          for await (const update of updates) await push(update);
        } finally {
          open--;
          stop();
        }
      }),
    openSubscriptions: () => open,
    brokerStatus: () => redis?.status() ?? "in-process",
    onBrokerConnected(listener) {
      redis?.onConnected(listener);
    },
    endSubscriptions: () => endAll(),
    async close() {
      endAll();
      await redis?.close();
    },
  };
}
