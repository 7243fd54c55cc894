import { Redis } from "ioredis";
import type { Logger } from "../lib/logger";

/** Where cached catalog answers live: this process, or Redis shared by every instance. */
export interface CatalogCacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Most answers, and most characters of answers (UTF-16: up to twice as many bytes), kept in one
 * process; the oldest go first.
 */
const MEMORY_ENTRIES = 1000;
const MEMORY_CHARACTERS = 16 * 1024 * 1024;

/**
 * A bounded in-process map of answers, each until its expiry: however many different reads clients
 * ask for, it holds at most MEMORY_ENTRIES answers and MEMORY_CHARACTERS characters of them.
 */
export class MemoryCacheStore implements CatalogCacheStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private characters = 0;

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.remove(key);
    return undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (value.length > MEMORY_CHARACTERS) return;
    this.remove(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    this.characters += value.length;
    while (this.entries.size > MEMORY_ENTRIES || this.characters > MEMORY_CHARACTERS)
      this.remove(this.entries.keys().next().value!);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.characters -= entry.value.length;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.characters = 0;
  }
}

/** Keys are namespaced so that the cache never meets anything else kept in the same Redis. */
const REDIS_PREFIX = "ordergate:catalog:";
/** How long a cache read or write may wait for Redis. */
const REDIS_COMMAND_MS = 250;

/**
 * Answers shared through Redis (REDIS_URL), each with Redis's own expiry. Redis down is a miss, never
 * a failure: the catalog is read from Medusa instead (commands are not queued while it is away).
 */
export class RedisCacheStore implements CatalogCacheStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    /** The store's own namespace: two stores sharing a Redis never meet each other's answers. */
    private readonly namespace: string,
    logger: Logger,
  ) {
    // A Redis that is connected but does not answer is a miss after REDIS_COMMAND_MS, not a wait.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_MS,
    });
    this.redis.on("error", (error) =>
      logger.debug("the catalog cache's Redis connection failed", { reason: error.message }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(key)).catch(() => null)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.key(key), value, "PX", ttlMs).catch(() => undefined);
  }

  private key(key: string): string {
    return `${REDIS_PREFIX}${this.namespace}:${key}`;
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
      // Not waited for: the answer is ready, whether or not it is kept.
      if (this.ttlMs > 0) void this.store.set(key, value, this.ttlMs);
      return value;
    })().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, reading);
    return reading;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
