import http from "node:http";
import type { AddressInfo } from "node:net";
import cors from "cors";
import express, { type ErrorRequestHandler, type Response } from "express";
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
import { loadOrCreateJwtSecret } from "./jwt-secret";
import { storeApi } from "./rest";
import { bodyTooLarge, sendMedusaError } from "./rest/errors";
import { STORE_BODY_LIMIT_BYTES } from "./rest/validation";
import { refuseDeclaredOversize } from "./http/body-limits";
import { clientAddressResolver } from "./http/client-address";
import { RateLimiter } from "./services/rate-limiter";
import { openApiDocument } from "./rest/openapi";
import { AuthService } from "./services/auth-service";
import { ClaimFeed } from "./services/claim-feed";
import { ClaimService } from "./services/claim-service";
import { CustomerService } from "./services/customer-service";
import { OrderService } from "./services/order-service";

const SHUTDOWN_GRACE_MS = 10_000;
/** How long a browser may cache a preflight answer. */
const CORS_MAX_AGE_SECONDS = 600;
/** The largest body any route takes: a GraphQL request (all content types), or one WebSocket message. */
const GRAPHQL_BODY_LIMIT_BYTES = 1024 * 1024;
/** How often the server looks for requests past REQUEST_TIMEOUT (Node's default is every 30 s). */
const REQUEST_TIMEOUT_CHECK_MS = 1000;

const graphqlError = (res: Response, status: number, message: string, code: string) => res.status(status).json({ errors: [{ message, extensions: { code } }] });
const graphqlBodyTooLarge = (res: Response) =>
  graphqlError(res, 413, `The request body is larger than ${GRAPHQL_BODY_LIMIT_BYTES} bytes.`, "PAYLOAD_TOO_LARGE");

/**
 * Reading a GraphQL body failed: the client's fault gets a GraphQL-shaped 4xx rather than
 * Express's HTML page; a client that hung up mid-body gets nothing (it is gone, and nothing went
 * wrong here).
 */
const graphqlBodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const { type, status, message } = error as { type?: string; status?: number; message?: string };
  if (type === "request.aborted") return void res.destroy();
  if (type === "entity.too.large") return void graphqlBodyTooLarge(res);
  if (!status || status < 400 || status >= 500) return next(error);
  graphqlError(res, status, `The request body could not be read: ${message}`, "BAD_REQUEST");
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
  const rateLimiter = new RateLimiter(config.rateLimits, { redisUrl: config.redisUrl, logger });

  let dispatcher: OutboxDispatcher | undefined;
  const claims = new ClaimService({ prisma, config, rateLimiter, onOutboxWritten: () => dispatcher?.wake() });
  const claimFeed = new ClaimFeed({ prisma, events });
  const auth = new AuthService({ prisma, config: { jwtSecret }, rateLimiter });
  const customers = new CustomerService({ prisma });
  const orders = new OrderService({ prisma });
  const services: Services = { prisma, events, claims, claimFeed, auth, customers, orders, rateLimiter };

  dispatcher = new OutboxDispatcher({
    prisma,
    config,
    logger,
    handlers: {
      [ORDER_UPDATE_TOKEN_CREATED]: claimTokenNotifier({ prisma, mailer, events, config, logger }),
      [ORDER_CLAIM_UPDATED]: ({ payload }) => events.publishClaimUpdate(payload),
    },
  });
  // Status events that failed while Redis was down go out as soon as it is back, not at their next backoff.
  events.onBrokerConnected(() => {
    dispatcher!.retryNow(ORDER_CLAIM_UPDATED).catch((error) => logger.error("could not resume claim status events", error));
  });

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  const clientAddress = clientAddressResolver(config.trustProxy);
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
  // Bodies declared over a route's limit are refused before a byte of them is read.
  app.use(GRAPHQL_PATH, refuseDeclaredOversize(GRAPHQL_BODY_LIMIT_BYTES, graphqlBodyTooLarge));
  app.use("/store", refuseDeclaredOversize(STORE_BODY_LIMIT_BYTES, (res) => sendMedusaError(res, bodyTooLarge(STORE_BODY_LIMIT_BYTES))));
  app.use(refuseDeclaredOversize(GRAPHQL_BODY_LIMIT_BYTES, (res) => res.status(413).json({ message: `The request body is larger than ${GRAPHQL_BODY_LIMIT_BYTES} bytes.` })));

  const yoga = createGraphQLServer(services, { jwtSecret, graphiql: config.graphiql, introspection: config.introspection, clientAddress }, logger);
  // Bodies of every content type are read (up to the limit, decoded per Content-Encoding) before
  // Yoga, which parses them itself.
  app.use(GRAPHQL_PATH, express.raw({ type: () => true, limit: GRAPHQL_BODY_LIMIT_BYTES }), (req, res) => yoga(req, res));
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
  app.use("/store", storeApi(services, yoga, { secureCookies: config.production, clientAddress }, logger));
  app.use((req, res) => {
    res.status(404).json({ message: `Route ${req.method} ${req.path} was not found` });
  });
  app.use(((error, req, res, _next) => {
    const { status, message } = error as { status?: number; message?: string };
    if (status && status >= 400 && status < 500) return void res.status(status).json({ message });
    logger.error(`${req.method} ${req.path} failed`, error);
    res.status(500).json({ message: "An unknown error occurred." });
  }) as ErrorRequestHandler);

  // A client gets REQUEST_TIMEOUT to send its whole request (a slow or lying body), then 408.
  const server = http.createServer({ requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: REQUEST_TIMEOUT_CHECK_MS }, app);
  const webSockets = attachGraphQLWebSocket(server, yoga, { keepAliveMs: config.websocketKeepAliveMs, maxMessageBytes: GRAPHQL_BODY_LIMIT_BYTES });
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
    await events.close();
    rateLimiter.close();
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
