import { setMaxListeners } from "node:events";
import { Repeater, type RepeaterBuffer } from "@repeaterjs/repeater";
import type { TypedEventTarget } from "@graphql-yoga/typed-event-target";
import type { Config } from "../config";
import type { Logger } from "../lib/logger";
import { inGatewayCluster, processEventTarget } from "./process-relay";
import { connectRedisEventTarget } from "./redis";
import {
  CUSTOMER_SESSION_ENDED,
  type CustomerSessionEnded,
  ORDER_CLAIM_UPDATED,
  type OrderClaimUpdated,
} from "./topics";

/** A claim status change, on its claimer's channel. Every instance's subscribers see these; never secrets. */
type ClaimUpdatedEvent = CustomEvent<OrderClaimUpdated>;
/** A session's sign-out, on one channel for all sessions (sign-outs are rare). */
type SessionEndedEvent = CustomEvent<CustomerSessionEnded>;

/** One channel per claimer (Yoga pubsub's `topic:id` form): `order-claim.updated:cus_...`. */
const claimChannel = (customerId: string) => `${ORDER_CLAIM_UPDATED}:${customerId}`;

/** `up`/`down` for Redis; `in-process` when REDIS_URL is unset (nothing to be down). */
export type BrokerStatus = "up" | "down" | "in-process";

/**
 * What a claim status stream carries: an update, or word that the broker connection was just
 * (re)established, so updates published meanwhile may have been missed: read the current state.
 */
export type ClaimFeedMessage = { kind: "update"; update: OrderClaimUpdated } | { kind: "resync" };

export interface EventBus {
  /**
   * Publishes a claim status change to every instance. Resolves once the broker has it and
   * rejects while Redis is unreachable, so the outbox retries the event later.
   */
  publishClaimUpdate(update: OrderClaimUpdated): Promise<void>;
  /**
   * One customer's claim status changes, until the stream is returned or `endSubscriptions`.
   * Listens from its first `next()` on. A Repeater, not an async generator: `return()` ends it
   * even while it waits for the next message.
   */
  claimUpdates(customerId: string): Repeater<ClaimFeedMessage>;
  /**
   * Tells every instance that a session was signed out, so its streams end (`sessionEnd`): this
   * instance's at once, the others' through Redis. Never rejects: with Redis unreachable, a
   * warning says the other instances' streams of it run on until the session would have expired.
   */
  publishSessionEnded(sessionId: string): Promise<void>;
  /** `ended` resolves once this session is signed out, on any instance; `cancel` stops waiting. */
  sessionEnd(sessionId: string): { ended: Promise<void>; cancel(): void };
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

/** Messages a claim status stream holds for a slow reader before it collapses them. */
const CLAIM_FEED_BUFFER = 64;

/**
 * A stream's backlog, which never makes the publisher wait: once full, the oldest messages give
 * way to one resync at the end, which reads from the database whatever they (and any later ones) said.
 */
class CollapsingBuffer implements RepeaterBuffer {
  private readonly queue: ClaimFeedMessage[] = [];
  constructor(private readonly capacity: number) {}

  get empty() {
    return this.queue.length === 0;
  }

  get full() {
    return false;
  }

  add(message: ClaimFeedMessage): void {
    if (this.queue.length < this.capacity) {
      this.queue.push(message);
    } else if (this.queue.at(-1)?.kind !== "resync") {
      this.queue.shift();
      this.queue.push({ kind: "resync" });
    }
  }

  remove(): ClaimFeedMessage {
    const message = this.queue.shift();
    if (!message) throw new Error("the buffer is empty");
    return message;
  }
}

/** An EventTarget for any number of listeners per event (one per open stream of a customer). */
function unboundedEventTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

/**
 * In-process pub/sub; between the gateway's processes (its web and job workers) through the
 * primary; or Yoga's Redis event target, between every instance, when `REDIS_URL` is set.
 */
export function createEventBus(config: Pick<Config, "redisUrl">, logger: Logger): EventBus {
  const redis = config.redisUrl ? connectRedisEventTarget(config.redisUrl, logger) : undefined;
  const processes = !redis && inGatewayCluster() ? processEventTarget() : undefined;
  /** What carries events beyond this process, if anything does. */
  const broker = redis ?? processes;
  // The event target itself rather than a pubsub over it: its listeners run synchronously, so a
  // burst of events lands in each stream's bounded buffer instead of piling up in a Repeater.
  const shared: TypedEventTarget<ClaimUpdatedEvent | SessionEndedEvent> = (broker?.eventTarget ??
    unboundedEventTarget()) as TypedEventTarget<ClaimUpdatedEvent | SessionEndedEvent>;
  /** Open streams: how to end each, and how to tell it to resync. */
  const streams = new Set<{ end: () => void; resync: () => void }>();
  let ending = false;
  redis?.onConnected(() => {
    for (const stream of streams) stream.resync();
  });

  /** What waits for each session's sign-out on this instance (its streams). */
  const sessionWaiters = new Map<string, Set<() => void>>();
  const endSession = (sessionId: string) => {
    const waiters = sessionWaiters.get(sessionId);
    sessionWaiters.delete(sessionId);
    for (const wake of waiters ?? []) wake();
  };
  // Listened on from the start, not per stream: a per-session Redis subscription would take a
  // round trip that a quick sign-out could overtake.
  shared.addEventListener<SessionEndedEvent>(CUSTOMER_SESSION_ENDED, (event) => {
    // Anyone with access to Redis can publish here: only a string id ends anything.
    const sessionId = (event.detail as Partial<CustomerSessionEnded> | null)?.sessionId;
    if (typeof sessionId === "string") endSession(sessionId);
  });

  const endSubscriptions = () => {
    ending = true;
    for (const stream of streams) stream.end();
  };

  return {
    async publishClaimUpdate(update) {
      if (redis?.status() === "down") throw new Error("Redis is unreachable; the event waits in the outbox");
      shared.dispatchEvent(new CustomEvent(claimChannel(update.claimerCustomerId), { detail: update }));
      await broker?.lastPublish();
    },
    claimUpdates(customerId) {
      return new Repeater<ClaimFeedMessage>(async (push, stop) => {
        if (ending) return stop();
        const channel = claimChannel(customerId);
        const listener = (event: ClaimUpdatedEvent) => void push({ kind: "update", update: event.detail });
        const stream = { end: () => stop(), resync: () => void push({ kind: "resync" }) };
        shared.addEventListener(channel, listener);
        streams.add(stream);
        await stop;
        streams.delete(stream);
        shared.removeEventListener(channel, listener);
      }, new CollapsingBuffer(CLAIM_FEED_BUFFER));
    },
    async publishSessionEnded(sessionId) {
      endSession(sessionId);
      if (!broker) return;
      shared.dispatchEvent(new CustomEvent(CUSTOMER_SESSION_ENDED, { detail: { sessionId } }));
      await broker.lastPublish().catch((error: Error) =>
        logger.warn(
          "a sign-out did not reach the other instances or processes (Redis is unreachable, or the primary gone): " +
            "their streams of that session run until it would have expired",
          {
            reason: error.message,
          },
        ),
      );
    },
    sessionEnd(sessionId) {
      let wake!: () => void;
      const ended = new Promise<void>((resolve) => (wake = resolve));
      const waiters = sessionWaiters.get(sessionId) ?? new Set();
      waiters.add(wake);
      sessionWaiters.set(sessionId, waiters);
      const cancel = () => {
        waiters.delete(wake);
        if (waiters.size === 0 && sessionWaiters.get(sessionId) === waiters) sessionWaiters.delete(sessionId);
      };
      return { ended, cancel };
    },
    openSubscriptions: () => streams.size,
    brokerStatus: () => redis?.status() ?? "in-process",
    onBrokerConnected(listener) {
      redis?.onConnected(listener);
    },
    endSubscriptions,
    async close() {
      endSubscriptions();
      await redis?.close();
    },
  };
}
