import path from "node:path";
import express, { type ErrorRequestHandler, type Request, Router } from "express";
import { RateLimitedError, ServiceUnavailableError } from "../../domain/errors";
import { OperationFailedError } from "../../graphql/in-process";
import type { Services } from "../../services";
import type { GraphQLServer } from "../../graphql/yoga";
import { html } from "../../lib/html";
import type { Logger } from "../../lib/logger";
import { claimsPage } from "./claims-page";
import { confirmPage } from "./confirm-page";
import { ASSETS_PATH, sendMessagePage } from "./layout";
import { CrossSiteRequestError, formTokens, isFormTokenError, pageHeaders, refuseCrossSite } from "./security";

/** The largest form a page posts (a token, a form token, an email and a password). */
const FORM_BODY_LIMIT = "16kb";

/** A failure as the person reading the page should hear it: status, heading, sentence. */
function describeFailure(
  error: unknown,
): { status: number; title: string; message: string; retryAfter?: number } | undefined {
  if (error instanceof CrossSiteRequestError || isFormTokenError(error)) {
    return { status: 403, title: "This form cannot be sent", message: new CrossSiteRequestError().message };
  }
  if (error instanceof RateLimitedError)
    return { status: 429, title: "Too many attempts", message: error.message, retryAfter: error.retryAfterSeconds };
  // An operation refused as a whole (a rate limit, the database down).
  if (error instanceof OperationFailedError && error.code === "RATE_LIMITED") {
    return { status: 429, title: "Too many attempts", message: error.message, retryAfter: error.retryAfterSeconds };
  }
  if (error instanceof OperationFailedError && error.code === "SERVICE_UNAVAILABLE") {
    return {
      status: 503,
      title: "Please try again shortly",
      message: error.message,
      retryAfter: ServiceUnavailableError.retryAfterSeconds,
    };
  }
  const httpError = error as { status?: number; type?: string };
  if (httpError.status === 404) return { status: 404, title: "Not found", message: "There is no such page." };
  if (httpError.type === "entity.too.large")
    return { status: 413, title: "This form is too large", message: "The form sent more than a page's form holds." };
  if (httpError.status && httpError.status >= 400 && httpError.status < 500)
    return {
      status: httpError.status,
      title: "This request was not understood",
      message: "Open the page again and send the form from there.",
    };
  return undefined;
}

/**
 * The pages people see (plain HTML, one style sheet, one small script; no build step): the
 * confirm page the claim email links to, and the claims page of a signed-in customer.
 */
export function pageRoutes(
  services: Services,
  yoga: GraphQLServer,
  options: {
    jwtSecret: string;
    secureCookies: boolean;
    publicUrl: string | undefined;
    clientAddress: (req: Request) => string;
  },
  logger: Logger,
): Router {
  const forms = formTokens(options);
  const router = Router();
  router.use(
    ASSETS_PATH,
    express.static(path.join(__dirname, "assets"), { index: false, fallthrough: false, maxAge: "1h" }),
  );
  router.use("/claim", pageHeaders, forms.readCookies);
  router.post(
    ["/claim", "/claim/*rest"],
    refuseCrossSite(options.publicUrl),
    express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT }),
  );
  router.use(confirmPage(services, yoga, forms, options));
  router.use(claimsPage(services, yoga, forms, options));
  router.use("/claim", (_req, _res, next) => next(Object.assign(new Error("no such page"), { status: 404 })));
  router.use(((error, req, res, next) => {
    if (!req.path.startsWith("/claim")) return next(error);
    const failure = describeFailure(error);
    if (!failure) logger.error("unexpected error on a page", error);
    const { status, title, message, retryAfter } = failure ?? {
      status: 500,
      title: "Something went wrong",
      message: "The page could not be shown. Try again in a moment.",
    };
    if (retryAfter) res.set("Retry-After", String(retryAfter));
    sendMessagePage(res, status, title, "bad", html`<p>${message}</p>`);
  }) as ErrorRequestHandler);
  return router;
}
