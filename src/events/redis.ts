import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { Logger } from "../lib/logger";

export interface RedisEventTarget {
  eventTarget: ReturnType<typeof createRedisEventTarget>;
  /**
   * The publish the event target made last; `dispatchEvent` publishes synchronously, so right after
   * it this is that event's.
   */
  lastPublish(): Promise<unknown>;
  status(): "up" | "down";
  /** Called each time the connection to Redis is (re)established. */
  onConnected(listener: () => void): void;
  close(): Promise<void>;
}

/** Where Redis is, without the password, for logs. */
function describe(url: string): string {
  const { protocol, hostname, port, pathname } = new URL(url);
  return `${protocol}//${hostname}:${port || 6379}${pathname === "/" ? "" : pathname}`;
}

/**
 * Yoga's Redis event target over two ioredis connections, adapted so that Redis being down never
 * crashes the process or blocks a request: a publish fails at once (the outbox retries it),
 * subscriptions wait for the connection and are restored by ioredis when Redis is back.
 */
export function connectRedisEventTarget(url: string, logger: Logger): RedisEventTarget {
  const where = describe(url);
  // No offline queue: a publish while disconnected fails now instead of piling up in memory.
  // A timeout too: a connection that died without a reset must not hold up the outbox.
  const publisher = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectionName: "ordergate-publish",
  });
  // Subscribe commands wait for the connection (however long); ioredis re-subscribes after a reconnect.
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, connectionName: "ordergate-subscribe" });

  let reportedDown = false;
  /** True once the subscriber's channels are subscribed again after its latest (re)connection. */
  let resubscribed = false;
  const connectedListeners: (() => void)[] = [];
  const bothReady = () => publisher.status === "ready" && subscriber.status === "ready" && resubscribed;
  const onReady = () => {
    if (!bothReady()) return;
    reportedDown = false;
    logger.info("Redis connected: claim status events reach every instance", { redis: where });
    for (const listener of connectedListeners) listener();
  };
  publisher.on("ready", onReady);
  subscriber.on("close", () => (resubscribed = false));
  subscriber.on("ready", () => {
    // ioredis re-subscribes right after emitting `ready`; a PING queued behind those SUBSCRIBEs
    // answers once they are in effect, so nothing published after `onConnected` can be missed.
    queueMicrotask(() => {
      subscriber.ping().then(
        () => {
          resubscribed = true;
          onReady();
        },
        () => {}, // the connection dropped again: the next `ready` retries
      );
    });
  });
  // ioredis emits `error` on every failed reconnect: report an outage once, not every few ms.
  const onError = (error: Error) => {
    if (reportedDown) return;
    reportedDown = true;
    logger.warn("Redis is unreachable; retrying in the background", { redis: where, reason: error.message });
  };
  publisher.on("error", onError);
  subscriber.on("error", onError);

  let last: Promise<unknown> = Promise.resolve();
  const failed = (action: string) => (error: Error) => logger.warn(`Redis ${action} failed`, { reason: error.message });
  const eventTarget = createRedisEventTarget({
    // Only the methods the event target calls; their promises are kept or handled here, since
    // the event target drops them (an unhandled rejection would end the process).
    publishClient: {
      publish: (channel: string, message: string) => (last = publisher.publish(channel, message)),
    } as unknown as Redis,
    subscribeClient: {
      // A malformed message (anyone with access to Redis can publish) must not end the process.
      on: (event: "message", listener: (channel: string, message: string) => void) =>
        subscriber.on(event, (channel: string, message: string) => {
          try {
            listener(channel, message);
          } catch (error) {
            logger.warn("dropped a malformed Redis message", { channel, reason: (error as Error).message });
          }
        }),
      subscribe: (channel: string) => subscriber.subscribe(channel).catch(failed("subscribe")),
      unsubscribe: (channel: string) => subscriber.unsubscribe(channel).catch(failed("unsubscribe")),
    } as unknown as Redis,
  });

  return {
    eventTarget,
    lastPublish: () => last,
    status: () => (bothReady() ? "up" : "down"),
    onConnected: (listener) => connectedListeners.push(listener),
    async close() {
      // Not QUIT: it would wait for a Redis that may be down. Pending commands fail (handled above).
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
