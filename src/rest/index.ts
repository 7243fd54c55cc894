import type { IncomingMessage } from "node:http";
import { Router } from "express";
import type { Services } from "../services";
import type { GraphQLServer } from "../graphql/yoga";
import type { Logger } from "../lib/logger";
import { authRoutes, identifyCustomer } from "./auth";
import { refuseCrossSiteSession, type SessionSites } from "./cross-site";
import { customerRoutes } from "./customers";
import { medusaErrorHandler, routeNotFound } from "./errors";
import { forwardToMedusa, type ForwardingOptions } from "./medusa-forwarding";
import type { AuthService } from "../services/auth-service";
import { orderReadRoutes } from "./order-reads";
import { orderClaimRoutes } from "./orders";

/**
 * Medusa Store API v1 routes under `/store`, with Medusa's JSON errors for everything; with
 * MEDUSA_URL, every other `/store` request is Medusa's to answer.
 */
export function storeApi(
  services: Services,
  yoga: GraphQLServer,
  options: {
    secureCookies: boolean;
    clientAddress: (req: IncomingMessage) => string;
    /** Whose pages may act with the session cookie (unsafe methods). */
    sessionSites: SessionSites;
    /** Where the routes ordergate does not answer go (MEDUSA_URL); without it they are 404. */
    medusa?: ForwardingOptions;
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
  if (!options.medusa) {
    router.use(customerRoutes(services, options.clientAddress));
    router.use(orderReadRoutes(services, options.clientAddress));
  }
  const issueStoreToken: AuthService["issueStoreToken"] = (customerId, expiresIn) =>
    services.auth.issueStoreToken(customerId, expiresIn);
  router.use(options.medusa ? forwardToMedusa({ ...options.medusa, issueStoreToken }, logger) : routeNotFound);
  router.use(medusaErrorHandler(logger));
  return router;
}
