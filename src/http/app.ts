import type { IncomingMessage } from "node:http";
import cors from "cors";
import express, { type Express, type ErrorRequestHandler, type RequestHandler, type Response } from "express";
import type { Config } from "../config";
import type { Services } from "../services";
import { GRAPHQL_PATH, type GraphQLServer } from "../graphql/yoga";
import type { Logger } from "../lib/logger";
import { storeApi, straightToMedusa } from "../rest";
import { personalAnswer } from "../rest/auth";
import { storeCorsAllows } from "../rest/cross-site";
import { bodyTooLarge, sendMedusaError } from "../rest/errors";
import { forwardToMedusa } from "../rest/medusa-forwarding";
import { openApiDocument } from "../rest/openapi";
import { STORE_BODY_LIMIT_BYTES } from "../rest/validation";
import type { Metrics } from "./metrics";
import { refuseDeclaredOversize } from "../lib/body-limits";
import { pageRoutes } from "./pages";
import { requestLog } from "./request-log";

/** Methods with a label of their own; Node accepts some thirty others, which share `OTHER`. */
const METRIC_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** The status metrics give a request the client abandoned (nginx's convention). */
const CLIENT_CLOSED_REQUEST = 499;
/** How long a browser may cache a preflight answer. */
const CORS_MAX_AGE_SECONDS = 600;
/** The largest body any route takes: a GraphQL request (all content types), or one WebSocket message. */
export const GRAPHQL_BODY_LIMIT_BYTES = 1024 * 1024;

const graphqlError = (res: Response, status: number, message: string, code: string) =>
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
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

/**
 * The HTTP side: CORS and body limits for both APIs, GraphQL at `/graphql`, the Medusa Store API
 * at `/store`, the pages under `/claim`, the OpenAPI document and probes; JSON answers for everything else.
 */
export function createHttpApp(deps: {
  services: Services;
  yoga: GraphQLServer;
  config: Config;
  logger: Logger;
  clientAddress: (req: IncomingMessage) => string;
  metrics: Metrics;
  /** JWT_SECRET (or the kept one): the pages' form tokens are keyed from it. */
  jwtSecret: string;
}): Express {
  const { services, yoga, config, logger, clientAddress, metrics, jwtSecret } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.use(
    requestLog(logger, ({ method, route, status, durationMs, aborted }) => {
      const methodLabel = METRIC_METHODS.has(method) ? method : "OTHER";
      metrics.httpRequests.inc({ method: methodLabel, route, status: aborted ? CLIENT_CLOSED_REQUEST : status });
      metrics.httpDuration.observe({ method: methodLabel, route }, durationMs / 1000);
    }),
  );
  app.set("trust proxy", config.trustProxy);
  // qs, as Medusa and medusa-js: `status[]=a` and `status[0]=a` are lists.
  app.set("query parser", "extended");
  // One CORS policy for both APIs (Medusa's store_cors): listed origins get credentials and
  // answered preflights; any other origin gets no CORS headers at all.
  const storeCors = cors((req, decide) => {
    const origin = req.headers.origin;
    decide(
      null,
      origin && storeCorsAllows(config.storeCors, origin)
        ? { origin, credentials: true, maxAge: CORS_MAX_AGE_SECONDS }
        : { origin: false },
    );
  });
  // Bodies declared over a route's limit are refused before a byte of them is read.
  const storeBodyLimit = refuseDeclaredOversize(STORE_BODY_LIMIT_BYTES, (res) =>
    sendMedusaError(res, bodyTooLarge(STORE_BODY_LIMIT_BYTES)),
  );
  const sessionSites = { storeCors: config.storeCors, publicUrl: config.publicUrl };
  const forward = config.medusaUrl
    ? forwardToMedusa(
        {
          medusaUrl: config.medusaUrl,
          timeoutMs: config.medusaTimeoutMs,
          issueStoreToken: (customerId, expiresIn) => services.auth.issueStoreToken(customerId, expiresIn),
        },
        logger,
      )
    : undefined;
  // Medusa's own /store requests (most of a storefront's) leave here, before the app's routes; the
  // lane runs the /store middlewares below itself.
  if (forward)
    app.use(
      straightToMedusa(services, { sessionSites, forward, storeMiddlewares: [storeCors, storeBodyLimit] }, logger),
    );
  app.use([GRAPHQL_PATH, "/store"], storeCors);
  app.use(GRAPHQL_PATH, refuseDeclaredOversize(GRAPHQL_BODY_LIMIT_BYTES, graphqlBodyTooLarge));
  app.use("/store", storeBodyLimit);
  app.use(
    refuseDeclaredOversize(GRAPHQL_BODY_LIMIT_BYTES, (res) =>
      res.status(413).json({ message: `The request body is larger than ${GRAPHQL_BODY_LIMIT_BYTES} bytes.` }),
    ),
  );

  // Bodies of every content type are read (up to the limit, decoded per Content-Encoding) before
  // Yoga, which parses them itself.
  // GraphiQL acts with the visitor's session cookie: no other page may frame it (and a JSON answer
  // has no use for a frame either).
  app.use(GRAPHQL_PATH, (_req, res, next) => {
    res.set({ "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'" });
    next();
  });
  // Any GraphQL answer may be the caller's own (`me`, by bearer or session cookie).
  app.use(GRAPHQL_PATH, personalAnswer);
  app.use(GRAPHQL_PATH, express.raw({ type: () => true, limit: GRAPHQL_BODY_LIMIT_BYTES }), (req, res) =>
    yoga(req, res),
  );
  app.use(GRAPHQL_PATH, graphqlBodyErrors);
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });
  // With METRICS_PORT, only that listener serves them (createMetricsApp).
  if (config.metricsPort === undefined) app.get("/metrics", serveMetrics(metrics));
  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  // Only the database makes an instance unfit to serve. Without Redis, requests are served and
  // only cross-instance subscription events wait: the instance reports itself degraded.
  app.get("/ready", async (_req, res) => {
    const database = await services.prisma.$queryRaw`SELECT 1`.then(
      () => "up",
      () => "down",
    );
    const redis = services.events.brokerStatus();
    const status = database === "down" ? "unavailable" : redis === "down" ? "degraded" : "ready";
    res.status(database === "up" ? 200 : 503).json({ status, checks: { database, redis } });
  });
  app.use(
    "/store",
    storeApi(services, yoga, { secureCookies: config.production, clientAddress, sessionSites, forward }, logger),
  );
  app.use(
    pageRoutes(
      services,
      yoga,
      { jwtSecret, secureCookies: config.production, publicUrl: config.publicUrl, clientAddress },
      logger,
    ),
  );
  app.use(notFound);
  app.use(((error, _req, res, _next) => {
    const { status, message } = error as { status?: number; message?: string };
    if (status && status >= 400 && status < 500) return void res.status(status).json({ message });
    logger.error("unexpected error", error);
    res.status(500).json({ message: "An unknown error occurred." });
  }) as ErrorRequestHandler);

  return app;
}

const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ message: `Route ${req.method} ${req.path} was not found` });
};

const serveMetrics =
  (metrics: Metrics): RequestHandler =>
  async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.exposition());
  };

/** The METRICS_PORT listener's app: `/metrics` and nothing else. */
export function createMetricsApp(metrics: Metrics): Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", serveMetrics(metrics));
  app.use(notFound);
  return app;
}
