import { createHmac } from "node:crypto";
import { Redis } from "ioredis";
import ipaddr from "ipaddr.js";
import proxyAddr from "proxy-addr";
import {
  type RateLimiterAbstract,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { inGatewayCluster } from "../events/process-relay";
import type { Rate, RateLimits } from "../config";
import { RateLimitedError, type RateLimitName } from "../domain/errors";
import type { Logger } from "../lib/logger";

/** Limits named `...PerIp` count per client address; the others per email, customer or recipient. */
const isPerAddress = (limit: RateLimitName) => limit.endsWith("PerIp");

/**
 * The rate limits of design.md §6 (settings RATE_LIMIT_*). With Redis the counters are shared by
 * every instance; while Redis is unreachable each instance counts in memory on its own (an
 * insurance limiter), so limits hold approximately rather than not at all.
 *
 * Clients named in RATE_LIMIT_EXEMPT (a server-rendered storefront speaking for all its shoppers
 * from one address) skip the per-address limits, whichever API (REST or GraphQL) counts them; the limits per
 * email, customer and recipient still hold for them.
 */
export class RateLimiter {
  private readonly limiters = new Map<RateLimitName, RateLimiterAbstract>();
  private readonly redis: Redis | undefined;
  private readonly onRefused: (limit: RateLimitName) => void;
  private readonly keySecret: Buffer;
  private readonly exempt: (address: string) => boolean;

  constructor(
    settings: RateLimits,
    options: {
      redisUrl?: string;
      logger: Logger;
      keySecret: string;
      /** Client addresses/subnets (RATE_LIMIT_EXEMPT) the per-address limits do not count. */
      exempt?: string[];
      onRefused?: (limit: RateLimitName) => void;
    },
  ) {
    const exempt = options.exempt?.length ? proxyAddr.compile(options.exempt) : undefined;
    // proxy-addr's matcher answers false for what is not an address ("unknown").
    this.exempt = exempt ? (address) => exempt(address, 0) : () => false;
    // A key of its own, derived, so the counters' hashes never use the signing secret itself.
    this.keySecret = createHmac("sha256", options.keySecret).update("ordergate rate-limit counters").digest();
    this.onRefused = options.onRefused ?? (() => {});
    const enabled = Object.entries(settings).filter((entry): entry is [RateLimitName, Rate] => entry[1] !== null);
    if (options.redisUrl && enabled.length > 0) {
      // No offline queue and a short timeout: a Redis outage must not hold up a sign-in.
      this.redis = new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 500,
        connectionName: "ordergate-rate-limits",
      });
      // Outages are reported by the event bus's connections; this one only must not crash on them.
      this.redis.on("error", (error) =>
        options.logger.debug("rate-limit counters in Redis unreachable", { reason: error.message }),
      );
    }
    for (const [name, rate] of enabled) {
      const common = {
        keyPrefix: `ordergate:rate:${name}`,
        points: rate.points,
        duration: Math.max(1, Math.ceil(rate.durationMs / 1000)),
      };
      // Between the gateway's web workers, the counters are the primary's (cluster IPC).
      const memory = inGatewayCluster()
        ? new RateLimiterCluster({ ...common, timeoutMs: 1000 })
        : new RateLimiterMemory(common);
      this.limiters.set(
        name,
        this.redis
          ? new RateLimiterRedis({
              ...common,
              storeClient: this.redis,
              rejectIfRedisNotReady: true,
              insuranceLimiter: memory,
            })
          : memory,
      );
    }
  }

  /** Counts one attempt against `limit` for `key`; throws RateLimitedError when none is left. */
  async take(limit: RateLimitName, key: string): Promise<void> {
    const refusal = await this.count(limit, key);
    if (refusal) throw new RateLimitedError(limit, Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
  }

  /** Counts one attempt against `limit` for `key`; false when none was left. */
  async tryTake(limit: RateLimitName, key: string): Promise<boolean> {
    return !(await this.count(limit, key));
  }

  /** Gives back an attempt that was counted, when what it was for did not happen. */
  async giveBack(limit: RateLimitName, key: string): Promise<void> {
    if (this.uncounted(limit, key)) return;
    await this.limiters.get(limit)?.reward(this.counterKey(key));
  }

  /** An exempt client's attempt against a per-address limit is not counted (nor given back). */
  private uncounted(limit: RateLimitName, key: string): boolean {
    return isPerAddress(limit) && this.exempt(key);
  }

  /** The refusal, if the attempt was over the limit. */
  private async count(limit: RateLimitName, key: string): Promise<RateLimiterRes | undefined> {
    const limiter = this.limiters.get(limit);
    if (!limiter || this.uncounted(limit, key)) return undefined;
    try {
      await limiter.consume(this.counterKey(key));
      return undefined;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      this.onRefused(limit);
      return refusal;
    }
  }

  /**
   * Keys are keyed hashes: the counters (in Redis, shared) hold no address, and an email's counter
   * cannot be found by hashing a list of emails without the secret. An IPv6 client is counted by
   * its /64, which one subscriber commonly holds whole.
   */
  private counterKey(key: string): string {
    return createHmac("sha256", this.keySecret).update(clientNetwork(key)).digest("base64url").slice(0, 22);
  }

  close(): void {
    this.redis?.disconnect();
  }
}

/** An IPv6 address as its /64 network (`2001:db8:1:2::/64`); anything else as it is. */
export function clientNetwork(key: string): string {
  if (!ipaddr.IPv6.isValid(key)) return key;
  const address = ipaddr.IPv6.parse(key);
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString();
  return `${address.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(":")}::/64`;
}
