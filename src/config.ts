// Every setting in one file, parsed and validated once at start: a long file by design (one
// schema, one Config type, one place to look up any setting).
import path from "node:path";
import proxyAddr from "proxy-addr";
import { z } from "zod";

/** Every setting ordergate reads, validated once at start (design.md §6). */
export interface Config {
  /** NODE_ENV=production: a JWT secret is required and cookies are `Secure`. */
  production: boolean;
  port: number;
  host: string;
  /** How many web worker processes share `port` (Node's cluster), beside one job worker process. */
  webConcurrency: number;
  /** Set: `/metrics` is served on this port only (same HOST), not on `port`. */
  metricsPort: number | undefined;
  dataDir: string;
  /** Unset: an embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Unset: mail is written as `.eml` files under `dataDir/mail`. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Unset (outside production): a random secret kept in `dataDir` (src/app/jwt-secret.ts). */
  jwtSecret: string | undefined;
  claimTokenTtlMs: number;
  /** Where people reach this ordergate (links in emails), without a trailing slash; unset: where it listens. */
  publicUrl: string | undefined;
  /**
   * Contains `{token}`, replaced by the URL-encoded claim token; unset: ordergate's own confirm
   * page (src/http/pages/confirm-link.ts).
   */
  claimConfirmUrl: string | undefined;
  claimMaxOrders: number;
  /** Medusa v1 replaces an order's email with the claimer's on confirmation; ordergate keeps it by default. */
  claimReplaceOrderEmail: boolean;
  seedDemo: boolean;
  /** How often the job worker looks for jobs that came due (new ones wake it at once). */
  outboxPollMs: number;
  /** The longest wait between two attempts of an outbox delivery (graphile-worker's backoff below it). */
  outboxRetryMaxMs: number;
  /** After this many failed attempts an outbox event is parked until re-queued by hand. */
  outboxMaxAttempts: number;
  /** How long delivered outbox events are kept (audit) before the purge job deletes them. */
  outboxRetentionMs: number;
  /** How often PENDING claims past their expiry are marked EXPIRED. */
  claimExpirySweepMs: number;
  /** How often idle WebSocket connections are pinged (and dropped when no pong comes back in as long). */
  websocketKeepAliveMs: number;
  /** GraphiQL at `/graphql` in browsers: on unless production (GRAPHIQL). */
  graphiql: boolean;
  /** Schema introspection: on unless production (GRAPHQL_INTROSPECTION). */
  introspection: boolean;
  /**
   * Browser origins allowed to call `/store` and `/graphql` with credentials: exact origins, or
   * `/regex/` as Medusa allows.
   */
  storeCors: (string | RegExp)[];
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Express's `trust proxy`: which hops' `X-Forwarded-For` name the client (rate limits, logs). */
  trustProxy: boolean | number | string[];
  /** Client addresses/subnets (as TRUST_PROXY resolves the client) that no per-address rate limit counts. */
  rateLimitExempt: string[];
  /** Longest a client may take to send a whole request (headers and body); then 408. */
  requestTimeoutMs: number;
  /** Medusa v1 behind ordergate: every `/store` request ordergate does not answer goes there. Unset: answered 404. */
  medusaUrl: string | undefined;
  /** Longest Medusa may take to start a forwarded answer (then 504), and for one GraphQL request's storefront calls. */
  medusaTimeoutMs: number;
  /** STORE_CACHE_TTL: how long public catalog reads are kept (0: not at all). */
  storeCacheTtlMs: number;
  /** Every rate limit; a limit that is `null` is off (RATE_LIMITS=off turns them all off). */
  rateLimits: RateLimits;
}

/** At most `points` attempts per `durationMs`, per key. */
export interface Rate {
  points: number;
  durationMs: number;
}

export interface RateLimits {
  loginPerEmail: Rate | null;
  loginPerIp: Rate | null;
  registerPerIp: Rate | null;
  claimPerCustomer: Rate | null;
  claimPerRecipient: Rate | null;
  claimPerRecipientTotal: Rate | null;
  confirmPerIp: Rate | null;
  lookupPerIp: Rate | null;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `900` (seconds), `900s`, `15m`, `1h`, `250ms`, `1d` into milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS_MS[match[2] ?? "s"]!;
}

const duration = (name: string) =>
  z.string().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({
        code: "custom",
        message: `${name} must be a positive duration such as 900, 900s, 15m or 1h (got "${value}")`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A duration, or `0`/`off` for none. */
const durationOrOff = (name: string) =>
  z.string().transform((value, ctx) => {
    if (value === "0" || value === "off") return 0;
    const parsed = duration(name).safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue({
      code: "custom",
      message: `${name} must be a duration such as 5s or 1m, or 0 or off (got "${value}")`,
    });
    return z.NEVER;
  });

const integer = (name: string, min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `${name} must be an integer from ${min} to ${max} (got "${value}")` });
      return z.NEVER;
    }
    return n;
  });

/** `10/15m`: at most 10 per 15 minutes; `off`: no limit. */
const rate = (name: string) =>
  z.string().transform((value, ctx): Rate | null => {
    if (value.trim().toLowerCase() === "off") return null;
    const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(value);
    const points = match ? Number(match[1]) : 0;
    const durationMs = match ? parseDuration(match[2]!) : undefined;
    if (!match || points < 1 || points > 1_000_000 || !durationMs) {
      ctx.addIssue({
        code: "custom",
        message: `${name} must be a count per duration such as 10/15m or 5/1h, or off (got "${value}")`,
      });
      return z.NEVER;
    }
    return { points, durationMs };
  });

/**
 * Comma-separated addresses/subnets (`loopback`, `10.0.0.0/8`, `::1`), as proxy-addr (Express's
 * `trust proxy`) reads them; undefined when it cannot.
 */
function addressList(value: string): string[] | undefined {
  const entries = value
    .trim()
    .toLowerCase()
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  try {
    // It throws on an address it cannot read.
    proxyAddr.compile(entries);
    return entries;
  } catch {
    return undefined;
  }
}

/**
 * Express's `trust proxy`: true/false, a hop count, or comma-separated addresses/subnets
 * (`loopback`, `10.0.0.0/8`).
 */
const trustProxy = (name: string) =>
  z.string().transform((value, ctx): boolean | number | string[] => {
    const v = value.trim().toLowerCase();
    if (["true", "false"].includes(v)) return v === "true";
    if (/^\d+$/.test(v)) return Number(v);
    const entries = addressList(v);
    if (!entries) {
      ctx.addIssue({
        code: "custom",
        message: `${name} must be true, false, a hop count, or comma-separated addresses/subnets (got "${value}")`,
      });
      return z.NEVER;
    }
    return entries;
  });

/** Comma-separated addresses/subnets, as in TRUST_PROXY's list form. */
const addresses = (name: string) =>
  z.string().transform((value, ctx): string[] => {
    const entries = addressList(value);
    if (!entries) {
      ctx.addIssue({
        code: "custom",
        message:
          `${name} must be comma-separated addresses/subnets such as 10.0.0.5, 10.1.0.0/16 or loopback ` +
          `(got "${value}")`,
      });
      return z.NEVER;
    }
    return entries;
  });

const boolean = (name: string) =>
  z.string().transform((value, ctx) => {
    const v = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(v)) return true;
    if (["false", "0", "no", "off"].includes(v)) return false;
    ctx.addIssue({ code: "custom", message: `${name} must be true or false (got "${value}")` });
    return z.NEVER;
  });

const url = (name: string, protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
  );

/** Medusa's default storefront origin. */
const DEFAULT_STORE_CORS = "http://localhost:8000";

/**
 * Medusa's `store_cors`: comma-separated origins (`https://shop.example.com`), each either exact or
 * a `/regular expression/` matched against the request's whole Origin: anchored here, since
 * `/shop\.example/` unanchored would also admit `https://shop.example.evil.io`.
 */
const corsOrigins = (name: string) =>
  z.string().transform((value, ctx) => {
    const origins: (string | RegExp)[] = [];
    for (const entry of value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)) {
      const regex = /^\/(.+)\/$/.exec(entry);
      if (regex) {
        try {
          origins.push(new RegExp(`^(?:${regex[1]!})$`));
        } catch {
          ctx.addIssue({ code: "custom", message: `${name} entry "${entry}" is not a valid regular expression` });
        }
        continue;
      }
      let origin: string | undefined;
      try {
        const url = new URL(entry);
        if (["http:", "https:"].includes(url.protocol) && url.origin === entry.replace(/\/$/, "")) origin = url.origin;
      } catch {
        // reported below
      }
      if (origin) origins.push(origin);
      else
        ctx.addIssue({
          code: "custom",
          message:
            `${name} entry "${entry}" is not an origin such as https://shop.example.com ` +
            "(scheme, host, optional port; no path)",
        });
    }
    if (value.trim().replace(/,/g, "").trim() === "")
      ctx.addIssue({ code: "custom", message: `${name} must name at least one origin` });
    return origins;
  });

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: integer("PORT", 0, 65535).default(9000),
  WEB_CONCURRENCY: integer("WEB_CONCURRENCY", 1, 64).default(1),
  METRICS_PORT: integer("METRICS_PORT", 0, 65535).optional(),
  HOST: z.string().min(1, "HOST must not be empty").default("0.0.0.0"),
  DATA_DIR: z.string().min(1, "DATA_DIR must not be empty").default("./.data"),
  DATABASE_URL: url("DATABASE_URL", ["postgres:", "postgresql:"]).optional(),
  REDIS_URL: url("REDIS_URL", ["redis:", "rediss:"]).optional(),
  SMTP_URL: url("SMTP_URL", ["smtp:", "smtps:"]).optional(),
  MAIL_FROM: z.string().min(3, "MAIL_FROM must be a sender address").default("ordergate <no-reply@localhost>"),
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters").optional(),
  CLAIM_TOKEN_TTL: duration("CLAIM_TOKEN_TTL").default(15 * 60_000),
  // An origin only: the pages and their scripts link to root paths (/claim, /graphql).
  PUBLIC_URL: url("PUBLIC_URL", ["http:", "https:"])
    .refine((value) => !URL.canParse(value) || new URL(value).origin === value.replace(/\/$/, ""), {
      message:
        "PUBLIC_URL must be an origin such as https://orders.shop.example " +
        "(scheme, host, optional port; no path, query or fragment)",
    })
    .optional(),
  CLAIM_CONFIRM_URL: url("CLAIM_CONFIRM_URL", ["http:", "https:"])
    .refine((value) => value.includes("{token}"), { message: "CLAIM_CONFIRM_URL must contain {token}" })
    .optional(),
  CLAIM_MAX_ORDERS: integer("CLAIM_MAX_ORDERS", 1, 10_000).default(100),
  CLAIM_REPLACE_ORDER_EMAIL: boolean("CLAIM_REPLACE_ORDER_EMAIL").default(false),
  SEED_DEMO: boolean("SEED_DEMO").default(true),
  OUTBOX_POLL_INTERVAL: duration("OUTBOX_POLL_INTERVAL").default(1000),
  OUTBOX_RETRY_MAX: duration("OUTBOX_RETRY_MAX").default(5 * 60_000),
  OUTBOX_MAX_ATTEMPTS: integer("OUTBOX_MAX_ATTEMPTS", 1, 1000).default(20),
  OUTBOX_RETENTION: duration("OUTBOX_RETENTION").default(7 * 86_400_000),
  CLAIM_EXPIRY_SWEEP_INTERVAL: duration("CLAIM_EXPIRY_SWEEP_INTERVAL").default(1000),
  WEBSOCKET_KEEPALIVE: duration("WEBSOCKET_KEEPALIVE").default(12_000),
  STORE_CORS: corsOrigins("STORE_CORS").default([DEFAULT_STORE_CORS]),
  GRAPHIQL: boolean("GRAPHIQL").optional(),
  GRAPHQL_INTROSPECTION: boolean("GRAPHQL_INTROSPECTION").optional(),
  TRUST_PROXY: trustProxy("TRUST_PROXY").default(false),
  RATE_LIMIT_EXEMPT: addresses("RATE_LIMIT_EXEMPT").default([]),
  REQUEST_TIMEOUT: duration("REQUEST_TIMEOUT").default(10_000),
  MEDUSA_URL: url("MEDUSA_URL", ["http:", "https:"])
    .refine((value) => !URL.canParse(value) || !/[?#]/.test(value), {
      message: "MEDUSA_URL must not have a query or fragment",
    })
    .optional(),
  MEDUSA_TIMEOUT: duration("MEDUSA_TIMEOUT").default(30_000),
  STORE_CACHE_TTL: durationOrOff("STORE_CACHE_TTL").default(5000),
  RATE_LIMITS: boolean("RATE_LIMITS").default(true),
  RATE_LIMIT_LOGIN_EMAIL: rate("RATE_LIMIT_LOGIN_EMAIL").default({ points: 10, durationMs: 15 * 60_000 }),
  RATE_LIMIT_LOGIN_IP: rate("RATE_LIMIT_LOGIN_IP").default({ points: 100, durationMs: 15 * 60_000 }),
  RATE_LIMIT_REGISTER_IP: rate("RATE_LIMIT_REGISTER_IP").default({ points: 10, durationMs: 60 * 60_000 }),
  RATE_LIMIT_CLAIM_CUSTOMER: rate("RATE_LIMIT_CLAIM_CUSTOMER").default({ points: 20, durationMs: 60 * 60_000 }),
  RATE_LIMIT_CLAIM_RECIPIENT: rate("RATE_LIMIT_CLAIM_RECIPIENT").default({ points: 5, durationMs: 60 * 60_000 }),
  RATE_LIMIT_CLAIM_RECIPIENT_TOTAL: rate("RATE_LIMIT_CLAIM_RECIPIENT_TOTAL").default({
    points: 20,
    durationMs: 60 * 60_000,
  }),
  RATE_LIMIT_CONFIRM_IP: rate("RATE_LIMIT_CONFIRM_IP").default({ points: 30, durationMs: 15 * 60_000 }),
  RATE_LIMIT_LOOKUP_IP: rate("RATE_LIMIT_LOOKUP_IP").default({ points: 30, durationMs: 15 * 60_000 }),
  LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error", "silent"], {
      message: "LOG_LEVEL must be one of debug, info, warn, error, silent",
    })
    .default("info"),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads settings from the environment; throws a ConfigError naming every bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as shells and .env files commonly write it.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid settings:\n${problems.join("\n")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  const combinationProblems = [
    ...(production && !e.JWT_SECRET ? ["  JWT_SECRET: required when NODE_ENV=production"] : []),
    // The JWTs ordergate hands Medusa (and Medusa's own) are only good on both sides with one secret.
    ...(!production && e.MEDUSA_URL && !e.JWT_SECRET
      ? ["  JWT_SECRET: required with MEDUSA_URL (set it to Medusa's jwt_secret)"]
      : []),
    // Without either, the claim emails would link to http://localhost.
    ...(production && !e.PUBLIC_URL && !e.CLAIM_CONFIRM_URL
      ? [
          "  PUBLIC_URL: required when NODE_ENV=production (where people reach ordergate: " +
            "the email's link starts with it), unless CLAIM_CONFIRM_URL is set",
        ]
      : []),
    ...(e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT
      ? [`  METRICS_PORT: must differ from PORT (both are ${e.PORT}): /metrics gets a listener of its own`]
      : []),
  ];
  if (combinationProblems.length > 0) throw new ConfigError(`Invalid settings:\n${combinationProblems.join("\n")}`);
  return {
    production,
    port: e.PORT,
    webConcurrency: e.WEB_CONCURRENCY,
    metricsPort: e.METRICS_PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    jwtSecret: e.JWT_SECRET,
    claimTokenTtlMs: e.CLAIM_TOKEN_TTL,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ""),
    claimConfirmUrl: e.CLAIM_CONFIRM_URL,
    claimMaxOrders: e.CLAIM_MAX_ORDERS,
    claimReplaceOrderEmail: e.CLAIM_REPLACE_ORDER_EMAIL,
    seedDemo: e.SEED_DEMO,
    outboxPollMs: e.OUTBOX_POLL_INTERVAL,
    outboxRetryMaxMs: e.OUTBOX_RETRY_MAX,
    outboxMaxAttempts: e.OUTBOX_MAX_ATTEMPTS,
    outboxRetentionMs: e.OUTBOX_RETENTION,
    claimExpirySweepMs: e.CLAIM_EXPIRY_SWEEP_INTERVAL,
    websocketKeepAliveMs: e.WEBSOCKET_KEEPALIVE,
    storeCors: e.STORE_CORS,
    graphiql: e.GRAPHIQL ?? !production,
    introspection: e.GRAPHQL_INTROSPECTION ?? !production,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    rateLimitExempt: e.RATE_LIMIT_EXEMPT,
    requestTimeoutMs: e.REQUEST_TIMEOUT,
    medusaUrl: e.MEDUSA_URL?.replace(/\/$/, ""),
    medusaTimeoutMs: e.MEDUSA_TIMEOUT,
    storeCacheTtlMs: e.STORE_CACHE_TTL,
    rateLimits: {
      loginPerEmail: e.RATE_LIMITS ? e.RATE_LIMIT_LOGIN_EMAIL : null,
      loginPerIp: e.RATE_LIMITS ? e.RATE_LIMIT_LOGIN_IP : null,
      registerPerIp: e.RATE_LIMITS ? e.RATE_LIMIT_REGISTER_IP : null,
      claimPerCustomer: e.RATE_LIMITS ? e.RATE_LIMIT_CLAIM_CUSTOMER : null,
      claimPerRecipient: e.RATE_LIMITS ? e.RATE_LIMIT_CLAIM_RECIPIENT : null,
      claimPerRecipientTotal: e.RATE_LIMITS ? e.RATE_LIMIT_CLAIM_RECIPIENT_TOTAL : null,
      confirmPerIp: e.RATE_LIMITS ? e.RATE_LIMIT_CONFIRM_IP : null,
      lookupPerIp: e.RATE_LIMITS ? e.RATE_LIMIT_LOOKUP_IP : null,
    },
  };
}
