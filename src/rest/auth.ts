import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import { isEmail } from "../domain/email";
import { InvalidCredentialsError } from "../domain/errors";
import type { Services } from "../services";
import { bearerToken } from "../services/auth-service";
import { clearSessionCookie, sessionTokenFromCookies, setSessionCookie } from "../lib/session-cookie";
import { MedusaError, UNAUTHORIZED } from "./errors";
import { serializeCustomer } from "./serializers";
import { jsonBody, parseInput, requiredString } from "./validation";

export const credentials = {
  email: z.string({ error: "email must be an email" }).trim().refine(isEmail, { error: "email must be an email" }),
  password: requiredString("password"),
};

/** The caller's customer id, from `res.locals` (set by `identifyCustomer`). */
export function customerIdOf(res: Response): string | undefined {
  return res.locals.customerId as string | undefined;
}

/** True when ordergate's session cookie signed the caller in (not a bearer JWT). */
export function signedInBySession(res: Response): boolean {
  return res.locals.signedInVia === "session";
}

const sessionToken = (req: Request) => sessionTokenFromCookies(req.headers.cookie);

/** Medusa's optional authentication: a session cookie, else a store bearer JWT; anonymous otherwise. */
export function identifyCustomer(services: Services): RequestHandler {
  return async (req, res, next) => {
    try {
      const viewer = await services.auth.identify({
        sessionToken: sessionToken(req),
        storeJwt: bearerToken(req.headers.authorization ?? ""),
      });
      res.locals.customerId = viewer?.customerId;
      res.locals.signedInVia = viewer?.via;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * An answer that depends on who asks (bearer or session cookie): no cache may keep it, and none
 * may hand one caller's copy to another.
 */
export const personalAnswer: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  res.vary("Authorization").vary("Cookie");
  next();
};

/** 401 before the body is looked at, as Medusa's `requireCustomerAuthentication`. */
export const requireCustomer: RequestHandler = (_req, res, next) => {
  next(customerIdOf(res) ? undefined : UNAUTHORIZED());
};

export function authRoutes(
  services: Services,
  options: { secureCookies: boolean; clientAddress: (req: Request) => string },
): Router {
  const { clientAddress } = options;
  const router = Router();

  const signIn = async (req: Request) => {
    const { email, password } = parseInput(credentials, req.body);
    try {
      return await services.auth.authenticate(email, password, clientAddress(req));
    } catch (error) {
      if (error instanceof InvalidCredentialsError) throw new MedusaError("unauthorized", error.message);
      throw error;
    }
  };

  router.post("/auth", jsonBody, async (req, res) => {
    const customer = await signIn(req);
    setSessionCookie(res, await services.auth.createSession(customer.id), options.secureCookies);
    res.json({ customer: serializeCustomer(customer) });
  });

  router.post("/auth/token", jsonBody, async (req, res) => {
    const customer = await signIn(req);
    res.json({ access_token: services.auth.issueStoreToken(customer.id) });
  });

  router.delete("/auth", async (req, res) => {
    const session = sessionToken(req);
    if (session) await services.auth.destroySession(session);
    clearSessionCookie(res);
    res.json({});
  });

  router.get("/auth/:email", async (req, res) => {
    res.json({ exists: await services.customers.accountExists(String(req.params.email), clientAddress(req)) });
  });

  return router;
}
