import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Rate, RateLimits } from "../config";
import { RateLimitedError, type RateLimitName } from "../domain/errors";
import type { Logger } from "../logger";

/**
 * The rate limits of design.md §6 (settings RATE_LIMIT_*). With Redis the counters are shared by
 * every instance; while Redis is unreachable each instance counts in memory on its own (an
 * insurance limiter), so limits hold approximately rather than not at all.
 */
export class RateLimiter {
  private readonly limiters = new Map<RateLimitName, RateLimiterAbstract>();
  private readonly redis: Redis | undefined;
  private readonly onRefused: (limit: RateLimitName) => void;

  constructor(
    settings: RateLimits,
    options: { redisUrl?: string; logger: Logger; onRefused?: (limit: RateLimitName) => void },
  ) {
    this.onRefused = options.onRefused ?? (() => {});
    const enabled = Object.entries(settings).filter((entry): entry is [RateLimitName, Rate] => entry[1] !== null);
    if (options.redisUrl && enabled.length > 0) {
      // No offline queue and a short timeout: a Redis outage must not hold up a sign-in.
      this.redis = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectionName: "ordergate-rate-limits" });
      // Outages are reported by the event bus's connections; this one only must not crash on them.
      this.redis.on("error", (error) => options.logger.debug("rate-limit counters in Redis unreachable", { reason: error.message }));
    }
    for (const [name, rate] of enabled) {
      const common = { keyPrefix: `ordergate:rate:${name}`, points: rate.points, duration: Math.max(1, Math.ceil(rate.durationMs / 1000)) };
      const memory = new RateLimiterMemory(common);
      this.limiters.set(
        name,
        this.redis ? new RateLimiterRedis({ ...common, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: memory }) : memory,
      );
    }
  }

  /** Counts one attempt against `limit` for `key`; throws RateLimitedError when none is left. */
  async take(limit: RateLimitName, key: string): Promise<void> {
    const limiter = this.limiters.get(limit);
    if (!limiter) return;
    try {
      await limiter.consume(counterKey(key));
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      this.onRefused(limit);
      throw new RateLimitedError(limit, Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
    }
  }

  /** Gives back an attempt that `take` counted, when the request it was for went no further. */
  async giveBack(limit: RateLimitName, key: string): Promise<void> {
    await this.limiters.get(limit)?.reward(counterKey(key));
  }

  close(): void {
    this.redis?.disconnect();
  }
}

/** Emails and ids are hashed: the counters (in Redis, shared) hold no address. */
function counterKey(key: string): string {
  return createHash("sha256").update(key).digest("base64url").slice(0, 22);
}
