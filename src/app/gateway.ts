import { createHash, createSecretKey } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "../config";
import { claimConfirmUrlTemplate } from "../http/pages/confirm-link";
import { type Database, openDatabase } from "../db/database";
import { PURGE_TASK, readOutboxStats } from "../jobs/outbox-jobs";
import type { JobWorker } from "../jobs/worker";
import { createEventBus } from "../events/event-bus";
import {
  CLAIM_STATUS_TOPICS,
  ORDER_CLAIM_CANCELED,
  ORDER_CLAIM_DECLINED,
  ORDER_CLAIM_UPDATED,
  type OrderClaimUpdated,
  ORDER_UPDATE_TOKEN_CREATED,
} from "../events/topics";
import type { Services } from "../services";
import type { Logger } from "../lib/logger";
import type { Mailer } from "../notifications/mailer";
import type { PurgeJob } from "../jobs/purge";
import { loadOrCreateJwtSecret } from "./jwt-secret";
import { clientAddressResolver } from "../http/client-address";
import { Metrics } from "../http/metrics";
import { RateLimiter } from "../services/rate-limiter";
import { AuthService } from "../services/auth-service";
import { ClaimFeed } from "../services/claim-feed";
import { ClaimService } from "../services/claim-service";
import { ClaimViewService } from "../services/claim-views";
import { CustomerService } from "../services/customer-service";
import { OrderService } from "../services/order-service";
import { StorefrontService } from "../services/storefront";
import { CatalogCache, MemoryCacheStore, RedisCacheStore } from "../store/catalog-cache";
import { MedusaStoreClient } from "../store/medusa-store-client";

const SHUTDOWN_GRACE_MS = 10_000;
/** How long the store JWT lasts that carries the customer on a storefront call to Medusa. */
const STORE_CALL_TOKEN_TTL = "5m";
/** How often the server looks for requests past REQUEST_TIMEOUT (Node's default is every 30 s). */
const REQUEST_TIMEOUT_CHECK_MS = 1000;

export interface Gateway {
  services: Services;
  /** Where jobs run (roles `all` and `jobs`); a web worker has none. */
  jobWorker: JobWorker | undefined;
  /** Where it listens, once `listen` resolved. */
  url: string;
  /** Where `/metrics` is served on a listener of its own (METRICS_PORT), once `listen` resolved. */
  metricsUrl: string | undefined;
  listen(): Promise<string>;
  /** Stops taking requests, lets those in flight finish, stops background work, closes the database. */
  close(): Promise<void>;
}

/**
 * What a gateway process does: everything (one process, and the tests), serve HTTP only (a web
 * worker), or run the background work only (the job worker: the outbox's mail and events, the
 * expiry sweep, the purge), beside web workers that tell it where they listen (`webUrl`).
 */
export type GatewayRole = { kind: "all" } | { kind: "web" } | { kind: "jobs"; webUrl: string };

/** Wires database, services, outbox, GraphQL and the Medusa REST layer into one HTTP server. */
export async function createGateway(
  config: Config,
  logger: Logger,
  database?: Database,
  role: GatewayRole = { kind: "all" },
): Promise<Gateway> {
  const serves = role.kind !== "jobs";
  const runsJobs = role.kind !== "web";
  const jwtSecret = config.jwtSecret ?? (await loadOrCreateJwtSecret(config.dataDir, logger));
  // A key object, made once: given the string, jsonwebtoken tries it as a public key on every verify.
  const jwtKey = createSecretKey(Buffer.from(jwtSecret));
  const db = database ?? (await openDatabase(config, logger));
  const prisma = db.prisma;
  const events = createEventBus(config, logger);
  // The gauges read their sources only when scraped, once everything below exists.
  const metrics = new Metrics(
    {
      claimsByStatus: () => claims.countByStatus(),
      outbox: () => readOutboxStats(prisma),
      openSubscriptions: () => events.openSubscriptions(),
      databasePool: () => db.poolStats(),
    },
    logger,
  );
  const rateLimiter = new RateLimiter(config.rateLimits, {
    redisUrl: config.redisUrl,
    logger,
    // Every instance shares JWT_SECRET, so all of them find the same counters.
    keySecret: jwtSecret,
    exempt: config.rateLimitExempt,
    onRefused: (limit) => metrics.rateLimitRefusals.inc({ limit }),
  });

  // New outbox rows reach graphile-worker through the outbox trigger (its job's NOTIFY): nothing to wake.
  const claims = new ClaimService({ prisma, sql: db.sql, config, rateLimiter, logger });
  const claimFeed = new ClaimFeed({ prisma, events });
  const claimViews = new ClaimViewService({ prisma });
  const auth = new AuthService({ prisma, sql: db.sql, config: { jwtKey }, rateLimiter, events });
  const customers = new CustomerService({ prisma, rateLimiter });
  const orders = new OrderService({ prisma, rateLimiter });
  const catalogCache = new CatalogCache(
    config.redisUrl && config.medusaUrl
      ? new RedisCacheStore(
          config.redisUrl,
          createHash("sha256").update(config.medusaUrl).digest("hex").slice(0, 16),
          logger,
        )
      : new MemoryCacheStore(),
    config.storeCacheTtlMs,
  );
  const storeClient =
    config.medusaUrl === undefined
      ? undefined
      : new MedusaStoreClient({
          baseUrl: config.medusaUrl,
          timeoutMs: config.medusaTimeoutMs,
          issueStoreToken: (customerId) => auth.issueStoreToken(customerId, STORE_CALL_TOKEN_TTL),
          onCall: (call) => metrics.medusaCalls.inc(call),
          logger,
        });
  const storefront = new StorefrontService({
    client: storeClient,
    cache: catalogCache,
    prisma,
    timeoutMs: config.medusaTimeoutMs,
    logger,
  });
  const services: Services = { prisma, events, claims, claimFeed, claimViews, auth, customers, orders, storefront };

  const jobs = runsJobs
    ? backgroundWork({
        database: db,
        config,
        logger,
        events,
        metrics,
        confirmUrlTemplate: () => claimConfirmUrlTemplate(config, role.kind === "jobs" ? role.webUrl : gateway.url),
      })
    : undefined;

  // Only a process that serves loads the GraphQL schema and the HTTP app: the job worker needs neither.
  const front = serves ? httpFront({ services, config, logger, metrics, jwtSecret }) : undefined;
  let expirySweep: NodeJS.Timeout | undefined;
  let background: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const shutDown = async () => {
    clearInterval(expirySweep);
    const drained = Promise.all([front?.server, front?.metricsServer].map((listener) => listener && drain(listener)));
    // Subscription streams complete (SSE ends its responses), then WebSockets close with 1001.
    events.endSubscriptions();
    await front?.webSockets.close(SHUTDOWN_GRACE_MS);
    await drained;
    await jobs?.purge.stop();
    await background;
    await jobs?.jobWorker.stop();
    await events.close();
    rateLimiter.close();
    jobs?.mailer.close();
    await catalogCache.close();
    storeClient?.close();
    if (!database) await db.close();
  };
  const gateway: Gateway = {
    services,
    jobWorker: jobs?.jobWorker,
    url: "",
    metricsUrl: undefined,
    async listen() {
      if (front) {
        gateway.url = await listenAt(front.server, config.port, config.host);
        if (front.metricsServer) {
          gateway.metricsUrl = await listenAt(front.metricsServer, config.metricsPort!, config.host);
          logger.info("metrics served on a port of their own", { metrics: `${gateway.metricsUrl}/metrics` });
        }
      }
      if (!jobs) return gateway.url;
      // In the background, as requests are already served: graphile-worker's pool, then the purge once at start.
      background = (async () => {
        await jobs.jobWorker.start();
        await prisma.$executeRaw`SELECT FROM "graphile_worker"."add_job"(${PURGE_TASK}, job_key => ${PURGE_TASK})`;
      })().catch((error) => logger.error("could not start the outbox worker", error));
      // A timer, not a job: graphile-worker's cron is minute-granular, and the sweep is one atomic UPDATE.
      expirySweep = setInterval(() => {
        claims.expireDueClaims().catch((error) => logger.error("claim expiry sweep failed", error));
      }, config.claimExpirySweepMs);
      logger.info("mail transport ready", { mail: jobs.mailer.describe() });
      return gateway.url;
    },
    close() {
      closing ??= shutDown();
      return closing;
    },
  };
  return gateway;
}

/**
 * The background work: the outbox's job worker (claim emails, status events), its mailer and the
 * purge. Required here, not at the top: a web worker never loads graphile-worker or nodemailer
 * (its memory).
 */
function backgroundWork(deps: {
  database: Database;
  config: Config;
  logger: Logger;
  events: ReturnType<typeof createEventBus>;
  metrics: Metrics;
  confirmUrlTemplate: () => string;
}): { jobWorker: JobWorker; mailer: Mailer; purge: PurgeJob } {
  const { database, config, logger, events, metrics } = deps;
  const { JobWorker } = require("../jobs/worker") as typeof import("../jobs/worker");
  const { createMailer, SMTP_CONNECTIONS } =
    require("../notifications/mailer") as typeof import("../notifications/mailer");
  const { claimTokenNotifier } =
    require("../notifications/claim-notifier") as typeof import("../notifications/claim-notifier");
  const { PurgeJob } = require("../jobs/purge") as typeof import("../jobs/purge");
  const mailer = createMailer(config);
  const purge = new PurgeJob({ prisma: database.prisma, config, logger });
  const publishClaimStatus = ({ payload }: { payload: OrderClaimUpdated }) => events.publishClaimUpdate(payload);
  const jobWorker = new JobWorker({
    prisma: database.prisma,
    databaseUrl: database.url,
    config,
    logger,
    handlers: {
      [ORDER_UPDATE_TOKEN_CREATED]: claimTokenNotifier({
        sql: database.sql,
        mailer,
        confirmUrlTemplate: deps.confirmUrlTemplate,
        linkOffersDecline: config.claimConfirmUrl === undefined,
        logger,
        onMail: (outcome) => metrics.mails.inc({ outcome }),
      }),
      [ORDER_CLAIM_UPDATED]: publishClaimStatus,
      [ORDER_CLAIM_DECLINED]: publishClaimStatus,
      [ORDER_CLAIM_CANCELED]: publishClaimStatus,
    },
    // As many jobs at once as there are SMTP connections for the emails.
    concurrency: SMTP_CONNECTIONS,
    // Hourly on one instance (graphile-worker's cron), and once at each start (one job: its key).
    tasks: { [PURGE_TASK]: async () => void (await purge.runOnce()) },
    crontab: `0 * * * * ${PURGE_TASK} ?jobKey=${PURGE_TASK}`,
  });
  // Status events that failed while Redis was down go out as soon as it is back, not at their next backoff.
  events.onBrokerConnected(() => {
    jobWorker
      .retryNow(CLAIM_STATUS_TOPICS)
      .catch((error) => logger.error("could not resume claim status events", error));
  });
  return { jobWorker, mailer, purge };
}

/** Listens; resolves with the URL it listens at. */
async function listenAt(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `http://${host === "0.0.0.0" || host === "::" ? "localhost" : host}:${address.port}`;
}

/** Stops taking connections and resolves once the open ones are done. */
function drain(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // Keep-alive connections go as soon as their request (or stream) is done, not after keepAliveTimeout.
    const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(closeIdle);
      resolve();
    });
    server.closeIdleConnections();
    // Requests still open after the grace period (a stuck client) are cut.
    setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
  });
}

/** The HTTP side: GraphQL, the Store API and the pages, WebSockets, and `/metrics` on a port of its own. */
function httpFront(deps: { services: Services; config: Config; logger: Logger; metrics: Metrics; jwtSecret: string }) {
  const { services, config, logger, metrics, jwtSecret } = deps;
  // Required here, not at the top: a job worker never loads the schema or the HTTP app (its memory).
  const { createGraphQLServer } = require("../graphql/yoga") as typeof import("../graphql/yoga");
  const { createHttpApp, createMetricsApp, GRAPHQL_BODY_LIMIT_BYTES } =
    require("../http/app") as typeof import("../http/app");
  const { attachGraphQLWebSocket } = require("../graphql/websocket") as typeof import("../graphql/websocket");
  const clientAddress = clientAddressResolver(config.trustProxy);
  const yoga = createGraphQLServer(
    services,
    {
      graphiql: config.graphiql,
      introspection: config.introspection,
      clientAddress,
      onOperation: (operation) => metrics.graphqlOperations.inc(operation),
    },
    logger,
  );
  const app = createHttpApp({ services, yoga, config, logger, clientAddress, metrics, jwtSecret });

  // A client gets REQUEST_TIMEOUT to send its whole request (a slow or lying body), then 408.
  const serverOptions = {
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: REQUEST_TIMEOUT_CHECK_MS,
  };
  const server = http.createServer(serverOptions, app);
  // The scraper's own port: `/metrics` stays off the public one.
  const metricsServer =
    config.metricsPort === undefined ? undefined : http.createServer(serverOptions, createMetricsApp(metrics));
  const webSockets = attachGraphQLWebSocket(server, yoga, {
    keepAliveMs: config.websocketKeepAliveMs,
    maxMessageBytes: GRAPHQL_BODY_LIMIT_BYTES,
  });
  return { server, metricsServer, webSockets };
}
