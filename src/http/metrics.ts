import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { answerWorkers, inGatewayCluster, requestFromPrimary } from "../events/process-relay";
import type { PoolStats } from "../db/database";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import type { Logger } from "../lib/logger";

/** What the gauges read when Prometheus scrapes: the database's view and the process's own. */
export interface MetricSources {
  claimsByStatus(): Promise<Record<string, number>>;
  outbox(): Promise<{ pending: number; parked: number; oldestPendingAgeSeconds: number | null }>;
  openSubscriptions(): number;
  databasePool(): PoolStats;
}

/** Every status a claim can have: each gets a sample, 0 when no claim has it. */
const CLAIM_STATUSES = Object.values(OrderClaimStatus);

/**
 * How long a database reading serves the gauges: one query per second at most, however often
 * `/metrics` is asked for, and one reading for all the gauges it feeds in a scrape.
 */
const DATABASE_READING_MS = 1000;

function cachedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let reading: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!reading || Date.now() - reading.at > ms) {
      const value = read();
      reading = { at: Date.now(), value };
      // A failed reading is not kept.
      value.catch(() => (reading = undefined));
    }
    return reading.value;
  };
}

/**
 * ordergate's Prometheus metrics (`/metrics`), one registry per gateway. Counters are counted
 * where things happen; gauges of state are read from their source at scrape time, so every
 * instance reports the shared database's view (claims, outbox) and its own (subscriptions, pool).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "ordergate_http_requests_total",
    help: "HTTP requests answered, by method, route template and status (an aborted request has status 499).",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: "ordergate_http_request_duration_seconds",
    help: "Time from a request's arrival to its response's end, by method and route template.",
    labelNames: ["method", "route"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly graphqlOperations = new Counter({
    name: "ordergate_graphql_operations_total",
    help:
      "GraphQL operations executed (both doors), by operation type, root field and outcome " +
      "(ok, or error when the result carried errors).",
    labelNames: ["type", "field", "outcome"] as const,
    registers: [this.registry],
  });

  readonly mails = new Counter({
    name: "ordergate_mails_total",
    help: "Claim emails handed to the mail transport (sent) or refused by it (failed; the outbox retries).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly medusaCalls = new Counter({
    name: "ordergate_medusa_calls_total",
    help:
      "Calls the storefront made to Medusa's Store API, by route template and outcome (ok; rejected: " +
      "a Medusa 4xx; unavailable: unreachable, too slow or failing). Catalog reads served by the cache are not calls.",
    labelNames: ["route", "outcome"] as const,
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: "ordergate_rate_limit_refusals_total",
    help: "Requests refused by a rate limit, by limit.",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  /**
   * The exposition text of the whole gateway: this process's metrics, or, in a gateway of several
   * processes, every process's (counters summed, the database's gauges read once) from the primary.
   */
  async exposition(): Promise<string> {
    return inGatewayCluster() ? askPrimaryForMetrics() : this.registry.metrics();
  }

  constructor(sources: MetricSources, logger: Logger) {
    // The primary asks every process for its metrics (prom-client's cluster protocol).
    if (inGatewayCluster()) {
      AggregatorRegistry.setRegistries([this.registry]);
      new AggregatorRegistry();
    }
    const registers = [this.registry];
    const claimsByStatus = cachedFor(DATABASE_READING_MS, () => sources.claimsByStatus());
    const outbox = cachedFor(DATABASE_READING_MS, () => sources.outbox());
    // A gauge whose source fails (the database down) keeps its last value; the scrape still answers.
    const reading = (name: string, read: () => Promise<void> | void) => async () => {
      try {
        await read();
      } catch (error) {
        logger.debug("a metric could not be read", { metric: name, reason: (error as Error).message });
      }
    };

    const claims = new Gauge({
      name: "ordergate_claims",
      // Every process reads the same database: one reading, not their sum.
      aggregator: "first",
      help: "Claims in the database, by status.",
      labelNames: ["status"] as const,
      registers,
      collect: reading("ordergate_claims", async () => {
        const counts = await claimsByStatus();
        for (const status of CLAIM_STATUSES) claims.set({ status }, counts[status] ?? 0);
      }),
    });
    const outboxPending: Gauge = new Gauge({
      name: "ordergate_outbox_pending_events",
      // Every process reads the same database: one reading, not their sum.
      aggregator: "first",
      help: "Outbox events not yet delivered (parked ones excluded).",
      registers,
      collect: reading("ordergate_outbox_pending_events", async () => outboxPending.set((await outbox()).pending)),
    });
    const outboxParked: Gauge = new Gauge({
      name: "ordergate_outbox_parked_events",
      // Every process reads the same database: one reading, not their sum.
      aggregator: "first",
      help: "Outbox events parked after too many failed attempts (npm run outbox -- requeue).",
      registers,
      collect: reading("ordergate_outbox_parked_events", async () => outboxParked.set((await outbox()).parked)),
    });
    const outboxOldest: Gauge = new Gauge({
      name: "ordergate_outbox_oldest_pending_age_seconds",
      // Every process reads the same database: one reading, not their sum.
      aggregator: "first",
      help: "Age of the oldest undelivered outbox event (0 when none): how far delivery is behind.",
      registers,
      collect: reading("ordergate_outbox_oldest_pending_age_seconds", async () =>
        outboxOldest.set((await outbox()).oldestPendingAgeSeconds ?? 0),
      ),
    });
    const subscriptions: Gauge = new Gauge({
      name: "ordergate_open_subscriptions",
      help: "Claim status subscriptions open on this instance (SSE and WebSocket).",
      registers,
      collect: () => {
        subscriptions.set(sources.openSubscriptions());
      },
    });
    const pool = new Gauge({
      name: "ordergate_database_connections",
      help: "This instance's database connection pool: open, idle, and requests waiting for a connection.",
      labelNames: ["state"] as const,
      registers,
      collect: () => {
        const stats = sources.databasePool();
        pool.set({ state: "open" }, stats.total);
        pool.set({ state: "idle" }, stats.idle);
        pool.set({ state: "waiting" }, stats.waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "ordergate_" });
  }
}

/** The gateway's metrics, summed over its processes by the primary (see serveClusterMetrics). */
const askPrimaryForMetrics = () => requestFromPrimary<string>("metrics");

/** The primary's side: aggregates every process's metrics for the one that was scraped. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  answerWorkers("metrics", () => aggregator.clusterMetrics());
}
