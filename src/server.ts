import http from "node:http";
import type { AddressInfo } from "node:net";
import cors from "cors";
import express, { type ErrorRequestHandler } from "express";
import type { Config } from "./config";
import { type Database, openDatabase } from "./db/database";
import { OutboxDispatcher } from "./events/outbox-dispatcher";
import { createEventBus } from "./events/event-bus";
import { ORDER_CLAIM_UPDATED, ORDER_UPDATE_TOKEN_CREATED } from "./events/topics";
import type { Services } from "./graphql/context";
import { attachGraphQLWebSocket } from "./graphql/websocket";
import { createGraphQLServer, GRAPHQL_PATH } from "./graphql/yoga";
import type { Logger } from "./logger";
import { claimTokenNotifier } from "./notifications/claim-notifier";
import { createMailer } from "./notifications/mailer";
import { PurgeJob } from "./jobs/purge";
import { loadOrCreateJwtSecret } from "./jwt-secret";
import { storeApi } from "./rest";
import { openApiDocument } from "./rest/openapi";
import { AuthService } from "./services/auth-service";
import { ClaimFeed } from "./services/claim-feed";
import { ClaimService } from "./services/claim-service";
import { CustomerService } from "./services/customer-service";
import { OrderService } from "./services/order-service";

const SHUTDOWN_GRACE_MS = 10_000;
/** How long a browser may cache a preflight answer. */
const CORS_MAX_AGE_SECONDS = 600;
const GRAPHQL_BODY_LIMIT = "1mb";
/** The same limit for one GraphQL-over-WebSocket message. */
const GRAPHQL_MESSAGE_LIMIT_BYTES = 1024 * 1024;

/**
 * Reading a GraphQL body failed: an over-long one gets a GraphQL-shaped 413 rather than Express's
 * HTML page; a client that hung up mid-body gets nothing (it is gone, and nothing went wrong here).
 */
const graphqlBodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const type = (error as { type?: string }).type;
  if (type === "request.aborted") return void res.destroy();
  if (type !== "entity.too.large") return next(error);
  res.status(413).json({ errors: [{ message: `The request body is larger than ${GRAPHQL_BODY_LIMIT}.`, extensions: { code: "PAYLOAD_TOO_LARGE" } }] });
};

export interface Gateway {
  services: Services;
  dispatcher: OutboxDispatcher;
  /** Where it listens, once `listen` resolved. */
  url: string;
  listen(): Promise<string>;
  /** Stops taking requests, lets those in flight finish, stops background work, closes the database. */
  close(): Promise<void>;
}

/** Wires database, services, outbox, GraphQL and the Medusa REST layer into one HTTP server. */
export async function createGateway(config: Config, logger: Logger, database?: Database): Promise<Gateway> {
  const jwtSecret = config.jwtSecret ?? (await loadOrCreateJwtSecret(config.dataDir, logger));
  const db = database ?? (await openDatabase(config, logger));
  const prisma = db.prisma;
  const events = createEventBus(config, logger);
  const mailer = createMailer(config);

  let dispatcher: OutboxDispatcher | undefined;
  const claims = new ClaimService({ prisma, config, onOutboxWritten: () => dispatcher?.wake() });
  const claimFeed = new ClaimFeed({ prisma, events });
  const auth = new AuthService({ prisma, config: { jwtSecret } });
  const customers = new CustomerService({ prisma });
  const orders = new OrderService({ prisma });
  const services: Services = { prisma, events, claims, claimFeed, auth, customers, orders };

  dispatcher = new OutboxDispatcher({
    prisma,
    config,
    logger,
    handlers: {
      [ORDER_UPDATE_TOKEN_CREATED]: claimTokenNotifier({ prisma, mailer, events, config, logger }),
      [ORDER_CLAIM_UPDATED]: ({ payload }) => events.publishClaimUpdate(payload),
    },
  });
  const purge = new PurgeJob({ prisma, config, logger });
  // Status events that failed while Redis was down go out as soon as it is back, not at their next backoff.
  events.onBrokerConnected(() => {
    dispatcher!.retryNow(ORDER_CLAIM_UPDATED).catch((error) => logger.error("could not resume claim status events", error));
  });

  const app = express();
  app.disable("x-powered-by");
  // qs, as Medusa and medusa-js: `status[]=a` and `status[0]=a` are lists.
  app.set("query parser", "extended");
  // One CORS policy for both doors (Medusa's store_cors): listed origins get credentials and
  // answered preflights; any other origin gets no CORS headers at all.
  const allowedOrigin = (origin: string) => config.storeCors.some((allowed) => (typeof allowed === "string" ? allowed === origin : allowed.test(origin)));
  app.use(
    [GRAPHQL_PATH, "/store"],
    cors((req, decide) => {
      const origin = req.headers.origin;
      decide(null, origin && allowedOrigin(origin) ? { origin, credentials: true, maxAge: CORS_MAX_AGE_SECONDS } : { origin: false });
    }),
  );
  const yoga = createGraphQLServer(services, { jwtSecret, graphiql: config.graphiql, introspection: config.introspection }, logger);
  // Bodies are read (up to the limit) before Yoga, which parses them itself.
  app.use(GRAPHQL_PATH, express.raw({ type: "application/json", limit: GRAPHQL_BODY_LIMIT }), (req, res) => yoga(req, res));
  app.use(GRAPHQL_PATH, graphqlBodyErrors);
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });
  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  // Only the database makes an instance unfit to serve. Without Redis, requests are served and
  // only cross-instance subscription events wait: the instance reports itself degraded.
  app.get("/ready", async (_req, res) => {
    const database = await prisma.$queryRaw`SELECT 1`.then(
      () => "up",
      () => "down",
    );
    const redis = events.brokerStatus();
    const status = database === "down" ? "unavailable" : redis === "down" ? "degraded" : "ready";
    res.status(database === "up" ? 200 : 503).json({ status, checks: { database, redis } });
  });
  app.use("/store", storeApi(services, config, logger));

  const server = http.createServer(app);
  const webSockets = attachGraphQLWebSocket(server, yoga, { keepAliveMs: config.websocketKeepAliveMs, maxMessageBytes: GRAPHQL_MESSAGE_LIMIT_BYTES });
  let expirySweep: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const shutDown = async () => {
    clearInterval(expirySweep);
    const drained = new Promise<void>((resolve) => {
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
    // Subscription streams complete (SSE ends its responses), then WebSockets close with 1001.
    events.endSubscriptions();
    await webSockets.close(SHUTDOWN_GRACE_MS);
    await drained;
    await dispatcher!.stop();
    await purge.stop();
    await events.close();
    mailer.close();
    if (!database) await db.close();
  };
  const gateway: Gateway = {
    services,
    dispatcher,
    url: "",
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      gateway.url = `http://${host}:${port}`;
      dispatcher!.start();
      purge.start();
      expirySweep = setInterval(() => {
        claims.expireDueClaims().catch((error) => logger.error("claim expiry sweep failed", error));
      }, config.claimExpirySweepMs);
      logger.info(`mail goes to ${mailer.describe()}`);
      return gateway.url;
    },
    close() {
      closing ??= shutDown();
      return closing;
    },
  };
  return gateway;
}
