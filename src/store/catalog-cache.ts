import { Redis } from "ioredis";
import type { Logger } from "../lib/logger";

/** Where cached catalog answers live: this process, or Redis shared by every instance. */
export interface CatalogCacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Most answers kept in one process; the oldest go first. */
const MEMORY_ENTRIES = 1000;

/** A bounded in-process map of answers, each until its expiry. */
export class MemoryCacheStore implements CatalogCacheStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (this.entries.size > MEMORY_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

/** Keys are namespaced so that the cache never meets anything else kept in the same Redis. */
const REDIS_PREFIX = "ordergate:catalog:";

/**
 * Answers shared through Redis (REDIS_URL), each with Redis's own expiry. Redis down is a miss, never
 * a failure: the catalog is read from Medusa instead (commands are not queued while it is away).
 */
export class RedisCacheStore implements CatalogCacheStore {
  private readonly redis: Redis;

  constructor(url: string, logger: Logger) {
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
    this.redis.on("error", (error) =>
      logger.debug("the catalog cache's Redis connection failed", { reason: error.message }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(REDIS_PREFIX + key).catch(() => null)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(REDIS_PREFIX + key, value, "PX", ttlMs).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * Public catalog reads (regions, products, collections as an anonymous shopper sees them), kept for
 * STORE_CACHE_TTL. Concurrent misses for one key share one call to Medusa (here, per process). A
 * failed read is not kept. With a TTL of 0 nothing is kept, but concurrent reads are still shared.
 */
export class CatalogCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: CatalogCacheStore,
    private readonly ttlMs: number,
  ) {}

  read(key: string, load: () => Promise<string>): Promise<string> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const reading = (async () => {
      const cached = this.ttlMs > 0 ? await this.store.get(key) : undefined;
      if (cached !== undefined) return cached;
      const value = await load();
      if (this.ttlMs > 0) await this.store.set(key, value, this.ttlMs);
      return value;
    })().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, reading);
    return reading;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
