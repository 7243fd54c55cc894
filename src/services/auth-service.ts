import crypto, { type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { BATCHES_IN_FLIGHT, type Db, Prisma } from "../db/database";
import type { SqlRows } from "../db/sql";
import { hasControlCharacters, isEmail, normalizeEmail } from "../domain/email";
import { InvalidCredentialsError } from "../domain/errors";
import { hashPassword, verifyPassword } from "../domain/passwords";
import type { EventBus } from "../events/event-bus";
import { grouped } from "../lib/grouped";
import type { RateLimiter } from "./rate-limiter";

/** Medusa v1 store tokens: HS256, `{ customer_id, domain: "store" }`, 30 days. */
export const STORE_TOKEN_ALGORITHM = "HS256";
const STORE_TOKEN_TTL = "30d";
/** express-session's default lifetime in Medusa v1. */
export const SESSION_TTL_MS = 10 * 60 * 60 * 1000;

export interface StoreTokenPayload {
  customer_id: string;
  domain: "store";
}

/** The customer id a verified JWT payload names, if it is a store token. */
export function customerIdFromStoreToken(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const { customer_id: customerId, domain } = payload as Partial<StoreTokenPayload>;
  return domain === "store" && typeof customerId === "string" && customerId !== "" ? customerId : undefined;
}

/** A signed-in customer, and until when the credentials hold (a JWT's `exp`, a session's end). */
export interface SignedInCustomer {
  customerId: string;
  signedInUntil?: Date;
  /** What signed the request in: ordergate's session cookie, or a store JWT. */
  via?: "session" | "bearer";
  /** The session's row id (its token's SHA-256, never the token), when a session signed in: what its sign-out names. */
  sessionId?: string;
}

/** The customer a verified store JWT names, signed in until its `exp`. */
export function viewerFromStoreToken(payload: unknown): SignedInCustomer | null {
  const customerId = customerIdFromStoreToken(payload);
  if (!customerId) return null;
  const exp = (payload as { exp?: unknown }).exp;
  return { customerId, signedInUntil: typeof exp === "number" ? new Date(exp * 1000) : undefined };
}

/**
 * The token in an `Authorization` value: `Bearer <jwt>` (any case). With `allowBare`, a bare
 * `<jwt>` too (WebSocket `connectionParams`, where clients often send just the token).
 */
export function bearerToken(value: string, options: { allowBare?: boolean } = {}): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  if (match) return match[1];
  return options.allowBare && /^\s*\S+\s*$/.test(value) && !/^\s*bearer\s*$/i.test(value) ? value.trim() : undefined;
}

const hashSessionToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

/** Customer sign-in: passwords, store JWTs and cookie sessions. */
export class AuthService {
  /** Compared against when the email is unknown, so both paths cost one scrypt. */
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly deps: {
      prisma: Db;
      /** The per-request sign-in check, without Prisma's engine (src/db/sql.ts). */
      sql: SqlRows;
      config: { jwtKey: KeyObject };
      rateLimiter: RateLimiter;
      events: Pick<EventBus, "publishSessionEnded">;
    },
  ) {}

  /**
   * The registered customer with this email and password; guests and wrong passwords fail alike.
   * Every attempt counts against the limits per address (`clientIp`) and per email, before any
   * password is checked.
   */
  async authenticate(email: string, password: string, clientIp: string) {
    const normalized = normalizeEmail(email);
    await this.deps.rateLimiter.take("loginPerIp", clientIp);
    await this.deps.rateLimiter.take("loginPerEmail", normalized);
    // Not an email (or one PostgreSQL cannot even compare, with a NUL): no such customer.
    const customer = isEmail(normalized)
      ? await this.deps.prisma.customer.findFirst({ where: { email: normalized, has_account: true, deleted_at: null } })
      : null;
    if (!customer?.password_hash) {
      this.decoyHash ??= hashPassword(crypto.randomBytes(16).toString("hex"));
      await verifyPassword(await this.decoyHash, password);
      throw new InvalidCredentialsError();
    }
    if (!(await verifyPassword(customer.password_hash, password))) throw new InvalidCredentialsError();
    return customer;
  }

  /** A store JWT, as Medusa's `POST /store/auth/token` issues it; `expiresIn` shortens its 30 days (`"5m"`). */
  issueStoreToken(customerId: string, expiresIn: jwt.SignOptions["expiresIn"] = STORE_TOKEN_TTL): string {
    const payload: StoreTokenPayload = { customer_id: customerId, domain: "store" };
    return jwt.sign(payload, this.deps.config.jwtKey, { algorithm: STORE_TOKEN_ALGORITHM, expiresIn });
  }

  /** The customer of a valid store token in an `Authorization: Bearer` value, or null for anything else. */
  viewerFromBearer(authorization: string | undefined): SignedInCustomer | null {
    return this.viewerFromStoreJwt(bearerToken(authorization ?? ""));
  }

  /**
   * The customer a store JWT names if it verifies (signature, HS256, expiry), else null: the one
   * place JWTs are verified.
   */
  private viewerFromStoreJwt(token: string | undefined): SignedInCustomer | null {
    if (!token) return null;
    try {
      return viewerFromStoreToken(jwt.verify(token, this.deps.config.jwtKey, { algorithms: [STORE_TOKEN_ALGORITHM] }));
    } catch {
      return null;
    }
  }

  /** Creates a session: its token (the cookie's value; only its hash is stored) and its end. */
  async createSession(customerId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = crypto.randomBytes(32).toString("base64url");
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.deps.prisma.customerSession.create({
      data: { id: hashSessionToken(token), customer_id: customerId, expires_at: expiresAt },
    });
    return { token, expiresAt };
  }

  /**
   * Who a request signs in, in Medusa's order for every entry point (REST, GraphQL over HTTP, SSE and
   * WebSocket, the pages): the session of its cookie if that session is live, else the customer
   * of its store JWT (the header's `Bearer` token, or a WebSocket's `connectionParams`); signed
   * out otherwise, and whenever that customer does not exist or was deleted. One primary-key read
   * (a session's joins its customer).
   */
  async identify(credentials: {
    sessionToken: string | undefined;
    storeJwt?: string;
  }): Promise<SignedInCustomer | null> {
    const fromSession = credentials.sessionToken ? await this.viewerFromSession(credentials.sessionToken) : null;
    if (fromSession) return fromSession;
    const fromBearer = this.viewerFromStoreJwt(credentials.storeJwt);
    // A JWT outlives its customer (30 days): its signature does not say the customer is still there.
    return fromBearer && (await this.isCustomer(fromBearer.customerId)) ? { ...fromBearer, via: "bearer" } : null;
  }

  /**
   * True for a customer that exists and was not deleted: a primary-key read, one statement for the
   * requests that come while one is in flight.
   */
  private isCustomer = grouped(
    async (customerIds: string[]): Promise<boolean[]> => {
      // No id holds a NUL, which PostgreSQL would refuse, failing the whole batch.
      const asked = customerIds.filter((id) => !hasControlCharacters(id));
      // A function (a migration's), so that its plan is generic: as a prepared statement,
      // PostgreSQL planned it again at nearly every call.
      const rows = await this.deps.sql<{ id: string }>(Prisma.sql`
      SELECT "id" FROM "ordergate"."live_customer_ids"(${asked}::varchar[])`);
      const found = new Set(rows.map((row) => row.id));
      return customerIds.map((id) => found.has(id));
    },
    { inFlight: BATCHES_IN_FLIGHT },
  );

  /**
   * The customer a live session signs in, until the session ends; null for an unknown or ended
   * one, or one whose customer was deleted (read in the same statement as the session).
   */
  private async viewerFromSession(token: string): Promise<SignedInCustomer | null> {
    const id = hashSessionToken(token);
    const session = await this.deps.prisma.customerSession.findFirst({
      where: { id, customer: { is: { deleted_at: null } } },
      select: { customer_id: true, expires_at: true },
    });
    if (!session) return null;
    if (session.expires_at.getTime() <= Date.now()) {
      await this.deps.prisma.customerSession.deleteMany({ where: { id } });
      return null;
    }
    return { customerId: session.customer_id, signedInUntil: session.expires_at, via: "session", sessionId: id };
  }

  /** Signs a session out: it stops signing requests in, and its open streams end on every instance. */
  async destroySession(token: string): Promise<void> {
    const id = hashSessionToken(token);
    const { count } = await this.deps.prisma.customerSession.deleteMany({ where: { id } });
    if (count > 0) await this.deps.events.publishSessionEnded(id);
  }
}
