import type { IncomingMessage } from "node:http";
import { type ErrorRequestHandler, type RequestHandler, Router } from "express";
import type { Services } from "../services";
import type { GraphQLServer } from "../graphql/yoga";
import type { Logger } from "../lib/logger";
import { sessionTokenFromCookies } from "../lib/session-cookie";
import { authRoutes, identifyCustomer } from "./auth";
import { refuseCrossSiteSession, type SessionSites } from "./cross-site";
import { customerRoutes } from "./customers";
import { medusaErrorHandler, routeNotFound } from "./errors";
import { orderReadRoutes } from "./order-reads";
import { orderClaimRoutes } from "./orders";

/**
 * The first path segments under `/store` that ordergate's own routes in front of Medusa are under
 * (sign-in, the claim routes). A request under any other (products, carts, regions, ...) is
 * Medusa's whatever its method and path (see `straightToMedusa`).
 */
export const OWN_STORE_SEGMENTS = new Set(["auth", "customers", "orders"]);

/**
 * Medusa Store API v1 routes under `/store`, with Medusa's JSON errors for everything; with
 * `forward` (MEDUSA_URL: `forwardToMedusa`), every other `/store` request is Medusa's to answer.
 */
export function storeApi(
  services: Services,
  yoga: GraphQLServer,
  options: {
    secureCookies: boolean;
    clientAddress: (req: IncomingMessage) => string;
    /** Whose pages may act with the session cookie (unsafe methods). */
    sessionSites: SessionSites;
    /** Where the routes ordergate does not answer go (Medusa); without it they are 404. */
    forward?: RequestHandler;
  },
  logger: Logger,
): Router {
  const router = Router();
  router.use(identifyCustomer(services));
  router.use(refuseCrossSiteSession(options.sessionSites, logger));
  router.use(authRoutes(services, options));
  router.use(orderClaimRoutes(services, yoga));
  // In front of Medusa, the customer and order reads (and sign-up) are Medusa's: it computes the
  // totals of its orders (shipping, tax, discounts) and runs its own events; ordergate keeps the
  // claims and sign-in (its session cookie and rate limits).
  if (!options.forward) {
    router.use(customerRoutes(services, options.clientAddress));
    router.use(orderReadRoutes(services, options.clientAddress));
  }
  router.use(options.forward ?? routeNotFound);
  router.use(medusaErrorHandler(logger));
  return router;
}

/** Middlewares run one after the other, as a router runs them but without its path matching. */
function inSequence(handlers: RequestHandler[], onError: ErrorRequestHandler): RequestHandler {
  return (req, res, next) => {
    let index = 0;
    const step = (error?: unknown) => {
      if (error) return onError(error, req, res, next);
      const handler = handlers[index++];
      if (!handler) return next();
      try {
        void handler(req, res, step);
      } catch (thrown) {
        onError(thrown, req, res, next);
      }
    };
    step();
  };
}

/** The first segment of a `/store/...` request target (lower case: routing ignores case), else undefined. */
function storeSegment(url: string): string | undefined {
  if (url.length < 7 || url.slice(0, 7).toLowerCase() !== "/store/") return undefined;
  const end = url.slice(7).search(/[/?#]/);
  return (end < 0 ? url.slice(7) : url.slice(7, 7 + end)).toLowerCase();
}

/**
 * Medusa's own `/store` requests (under no segment of OWN_STORE_SEGMENTS) sent straight to `forward`,
 * first in the app: the app's `/store` middlewares (`storeMiddlewares`: CORS, body limit), the
 * session cookie's customer (only a session matters to forwarding: a bearer goes on as it is) and
 * its cross-site rule, as the Store router has them, without passing every route of the app and of
 * the Store API on the way (their matching took a third of a forwarded request's allocations).
 * Any other request goes on to the app's routes.
 */
export function straightToMedusa(
  services: Services,
  options: { sessionSites: SessionSites; forward: RequestHandler; storeMiddlewares: RequestHandler[] },
  logger: Logger,
): RequestHandler {
  const identifySession: RequestHandler = (req, res, next) => {
    const sessionToken = sessionTokenFromCookies(req.headers.cookie);
    if (!sessionToken) return next();
    services.auth.identify({ sessionToken }).then((viewer) => {
      res.locals.customerId = viewer?.customerId;
      res.locals.signedInVia = viewer?.via;
      next();
    }, next);
  };
  const forwarded = inSequence(
    [
      ...options.storeMiddlewares,
      identifySession,
      refuseCrossSiteSession(options.sessionSites, logger),
      options.forward,
    ],
    medusaErrorHandler(logger),
  );
  return (req, res, next) => {
    const segment = storeSegment(req.url);
    if (segment === undefined || OWN_STORE_SEGMENTS.has(segment)) return next();
    forwarded(req, res, next);
  };
}
