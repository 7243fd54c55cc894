import { ConfigError, loadConfig, parseDuration } from "../src/config";
import { claimConfirmUrlTemplate } from "../src/http/pages/confirm-link";

describe("settings", () => {
  it("defaults to the embedded database, port 9000 and a 15 minute token", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 9000,
      host: "0.0.0.0",
      databaseUrl: undefined,
      smtpUrl: undefined,
      claimTokenTtlMs: 15 * 60_000,
      claimMaxOrders: 100,
      claimReplaceOrderEmail: false,
      seedDemo: true,
      jwtSecret: undefined,
      publicUrl: undefined,
      claimConfirmUrl: undefined,
      mailFrom: "ordergate <no-reply@localhost>",
      outboxMaxAttempts: 20,
      outboxRetentionMs: 7 * 86_400_000,
    });
    expect(config.dataDir).toMatch(/\.data$/);
  });

  it("links the email to ordergate's own confirm page: where it listens, or PUBLIC_URL, unless CLAIM_CONFIRM_URL names a storefront's", () => {
    expect(claimConfirmUrlTemplate(loadConfig({}), "http://localhost:9000")).toBe(
      "http://localhost:9000/claim/confirm?token={token}",
    );
    expect(
      claimConfirmUrlTemplate(loadConfig({ PUBLIC_URL: "https://orders.shop.example/" }), "http://localhost:9000"),
    ).toBe("https://orders.shop.example/claim/confirm?token={token}");
    expect(
      claimConfirmUrlTemplate(
        loadConfig({
          PUBLIC_URL: "https://orders.shop.example",
          CLAIM_CONFIRM_URL: "https://shop.example/account/claim?t={token}",
        }),
        "http://localhost:9000",
      ),
    ).toBe("https://shop.example/account/claim?t={token}");
  });

  it.each([
    ["900", 900_000],
    ["900s", 900_000],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["250ms", 250],
  ])("reads CLAIM_TOKEN_TTL=%s", (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
    expect(loadConfig({ CLAIM_TOKEN_TTL: value }).claimTokenTtlMs).toBe(ms);
  });

  it.each([
    [
      { CLAIM_TOKEN_TTL: "soon" },
      'CLAIM_TOKEN_TTL: CLAIM_TOKEN_TTL must be a positive duration such as 900, 900s, 15m or 1h (got "soon")',
    ],
    [{ CLAIM_TOKEN_TTL: "0" }, "CLAIM_TOKEN_TTL must be a positive duration"],
    [{ PORT: "nine" }, 'PORT: PORT must be an integer from 0 to 65535 (got "nine")'],
    [{ PORT: "70000" }, "PORT must be an integer from 0 to 65535"],
    [
      { DATABASE_URL: "mysql://x" },
      "DATABASE_URL: DATABASE_URL must be a URL starting with postgres:// or postgresql://",
    ],
    [{ SMTP_URL: "localhost:25" }, "SMTP_URL: SMTP_URL must be a URL starting with smtp:// or smtps://"],
    [{ CLAIM_MAX_ORDERS: "0" }, "CLAIM_MAX_ORDERS: CLAIM_MAX_ORDERS must be an integer from 1 to 10000"],
    [{ CLAIM_CONFIRM_URL: "https://shop.example/confirm" }, "CLAIM_CONFIRM_URL must contain {token}"],
    [{ PUBLIC_URL: "orders.shop.example" }, "PUBLIC_URL: PUBLIC_URL must be a URL starting with http:// or https://"],
    [{ MEDUSA_URL: "127.0.0.1:9001" }, "MEDUSA_URL: MEDUSA_URL must be a URL starting with http:// or https://"],
    [{ MEDUSA_URL: "http://127.0.0.1:9001/?x=1" }, "MEDUSA_URL: MEDUSA_URL must not have a query or fragment"],
    [{ MEDUSA_TIMEOUT: "0" }, "MEDUSA_TIMEOUT: MEDUSA_TIMEOUT must be a positive duration"],
    [
      { STORE_CACHE_TTL: "-1s" },
      'STORE_CACHE_TTL: STORE_CACHE_TTL must be a duration such as 5s or 1m, or 0 or off (got "-1s")',
    ],
    [{ PUBLIC_URL: "https://orders.shop.example/?a=1" }, "PUBLIC_URL: PUBLIC_URL must be an origin"],
    [{ PUBLIC_URL: "https://orders.shop.example/gateway" }, "PUBLIC_URL: PUBLIC_URL must be an origin"],
    [{ SEED_DEMO: "maybe" }, 'SEED_DEMO: SEED_DEMO must be true or false (got "maybe")'],
    [{ JWT_SECRET: "short" }, "JWT_SECRET: JWT_SECRET must be at least 16 characters"],
    [{ NODE_ENV: "production" }, "JWT_SECRET: required when NODE_ENV=production"],
    [
      { NODE_ENV: "production", JWT_SECRET: "a-long-production-secret" },
      "PUBLIC_URL: required when NODE_ENV=production",
    ],
    [
      { STORE_CORS: "https://shop.example.com/path" },
      'STORE_CORS: STORE_CORS entry "https://shop.example.com/path" is not an origin',
    ],
    [
      { STORE_CORS: "https://shop.example.com,/[/" },
      'STORE_CORS: STORE_CORS entry "/[/" is not a valid regular expression',
    ],
    [{ STORE_CORS: " , " }, "STORE_CORS: STORE_CORS must name at least one origin"],
    [{ REDIS_URL: "localhost:6379" }, "REDIS_URL: REDIS_URL must be a URL starting with redis:// or rediss://"],
    [{ WEBSOCKET_KEEPALIVE: "often" }, "WEBSOCKET_KEEPALIVE: WEBSOCKET_KEEPALIVE must be a positive duration"],
    [
      { OUTBOX_MAX_ATTEMPTS: "0" },
      'OUTBOX_MAX_ATTEMPTS: OUTBOX_MAX_ATTEMPTS must be an integer from 1 to 1000 (got "0")',
    ],
    [{ OUTBOX_MAX_ATTEMPTS: "ten" }, "OUTBOX_MAX_ATTEMPTS: OUTBOX_MAX_ATTEMPTS must be an integer from 1 to 1000"],
    [
      { TRUST_PROXY: "...." },
      'TRUST_PROXY: TRUST_PROXY must be true, false, a hop count, or comma-separated addresses/subnets (got "....")',
    ],
    [{ TRUST_PROXY: "10.0.0.0/8, 1.2.3" }, "TRUST_PROXY: TRUST_PROXY must be true, false, a hop count"],
    [
      { RATE_LIMIT_LOGIN_EMAIL: "10" },
      'RATE_LIMIT_LOGIN_EMAIL: RATE_LIMIT_LOGIN_EMAIL must be a count per duration such as 10/15m or 5/1h, or off (got "10")',
    ],
    [{ RATE_LIMIT_REGISTER_IP: "0/1h" }, "RATE_LIMIT_REGISTER_IP: RATE_LIMIT_REGISTER_IP must be a count per duration"],
    [{ RATE_LIMIT_CONFIRM_IP: "5/soon" }, "RATE_LIMIT_CONFIRM_IP: RATE_LIMIT_CONFIRM_IP must be a count per duration"],
    [{ RATE_LIMITS: "sometimes" }, 'RATE_LIMITS: RATE_LIMITS must be true or false (got "sometimes")'],
    [{ REQUEST_TIMEOUT: "0" }, "REQUEST_TIMEOUT: REQUEST_TIMEOUT must be a positive duration"],
    [
      { RATE_LIMIT_EXEMPT: "storefront" },
      'RATE_LIMIT_EXEMPT: RATE_LIMIT_EXEMPT must be comma-separated addresses/subnets such as 10.0.0.5, 10.1.0.0/16 or loopback (got "storefront")',
    ],
    [
      { RATE_LIMIT_EXEMPT: "10.0.0.5, 10.0.0.0/33" },
      "RATE_LIMIT_EXEMPT: RATE_LIMIT_EXEMPT must be comma-separated addresses/subnets",
    ],
    [{ RATE_LIMIT_EXEMPT: " , " }, "RATE_LIMIT_EXEMPT: RATE_LIMIT_EXEMPT must be comma-separated addresses/subnets"],
    [{ METRICS_PORT: "metrics" }, 'METRICS_PORT: METRICS_PORT must be an integer from 0 to 65535 (got "metrics")'],
    [{ PORT: "9000", METRICS_PORT: "9000" }, "METRICS_PORT: must differ from PORT (both are 9000)"],
    [{ METRICS_PORT: "9000" }, "METRICS_PORT: must differ from PORT (both are 9000)"],
    [
      { OUTBOX_RETENTION: "a week" },
      'OUTBOX_RETENTION: OUTBOX_RETENTION must be a positive duration such as 900, 900s, 15m or 1h (got "a week")',
    ],
  ])("refuses %j with a message naming the setting", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reads the rate limits, each on its own or all off, and the proxies to trust", () => {
    expect(loadConfig({}).rateLimits).toEqual({
      loginPerEmail: { points: 10, durationMs: 15 * 60_000 },
      loginPerIp: { points: 100, durationMs: 15 * 60_000 },
      registerPerIp: { points: 10, durationMs: 3_600_000 },
      claimPerCustomer: { points: 20, durationMs: 3_600_000 },
      claimPerRecipient: { points: 5, durationMs: 3_600_000 },
      claimPerRecipientTotal: { points: 20, durationMs: 3_600_000 },
      confirmPerIp: { points: 30, durationMs: 15 * 60_000 },
      lookupPerIp: { points: 30, durationMs: 15 * 60_000 },
    });
    expect(loadConfig({ RATE_LIMIT_CLAIM_RECIPIENT: "off", RATE_LIMIT_LOGIN_IP: "3 / 90s" }).rateLimits).toMatchObject({
      claimPerRecipient: null,
      loginPerIp: { points: 3, durationMs: 90_000 },
    });
    expect(Object.values(loadConfig({ RATE_LIMITS: "off" }).rateLimits)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "loopback, 10.0.0.0/8" }).trustProxy).toEqual(["loopback", "10.0.0.0/8"]);
  });

  it("reads the outbox's attempt limit and retention (days allowed)", () => {
    expect(loadConfig({ OUTBOX_MAX_ATTEMPTS: "3", OUTBOX_RETENTION: "30d" })).toMatchObject({
      outboxMaxAttempts: 3,
      outboxRetentionMs: 30 * 86_400_000,
    });
    expect(loadConfig({ OUTBOX_RETENTION: "36h" }).outboxRetentionMs).toBe(36 * 3_600_000);
  });

  it("names every bad setting at once", () => {
    expect(() => loadConfig({ PORT: "x", SEED_DEMO: "y" })).toThrow(/PORT:[\s\S]*SEED_DEMO:/);
  });

  it("reads STORE_CORS as exact origins and /regular expressions/, defaulting to Medusa's storefront", () => {
    expect(loadConfig({}).storeCors).toEqual(["http://localhost:8000"]);
    const [exact, pattern] = loadConfig({
      STORE_CORS: "https://shop.example.com/, /^https:\\/\\/.+\\.example\\.com$/",
    }).storeCors;
    expect(exact).toBe("https://shop.example.com");
    expect(pattern).toBeInstanceOf(RegExp);
    expect((pattern as RegExp).test("https://pr-1.example.com")).toBe(true);
  });

  it("matches a STORE_CORS /regular expression/ against the whole origin, anchored or not", () => {
    const [unanchored, alternatives] = loadConfig({
      STORE_CORS: "/https:\\/\\/shop\\.example/, /https:\\/\\/a\\.example|https:\\/\\/b\\.example/",
    }).storeCors as RegExp[];
    expect(unanchored!.test("https://shop.example")).toBe(true);
    for (const origin of [
      "https://shop.example.evil.io",
      "https://evil.io/https://shop.example",
      "http://x.https://shop.example",
    ]) {
      expect(unanchored!.test(origin)).toBe(false);
    }
    // An alternation is anchored as a whole, not only its first and last branch.
    expect(["https://a.example", "https://b.example"].map((origin) => alternatives!.test(origin))).toEqual([
      true,
      true,
    ]);
    expect(
      ["https://a.example.evil.io", "https://evil.io?https://b.example"].map((origin) => alternatives!.test(origin)),
    ).toEqual([false, false]);
  });

  it("reads RATE_LIMIT_EXEMPT as TRUST_PROXY's list of addresses and subnets, none by default", () => {
    expect(loadConfig({}).rateLimitExempt).toEqual([]);
    expect(loadConfig({ RATE_LIMIT_EXEMPT: "10.0.0.5, 10.1.0.0/16,loopback, ::1" }).rateLimitExempt).toEqual([
      "10.0.0.5",
      "10.1.0.0/16",
      "loopback",
      "::1",
    ]);
  });

  it("reads STORE_CACHE_TTL, 5 seconds by default, 0 or off for no catalog cache", () => {
    expect(loadConfig({}).storeCacheTtlMs).toBe(5000);
    expect(loadConfig({ STORE_CACHE_TTL: "30s" }).storeCacheTtlMs).toBe(30_000);
    expect(loadConfig({ STORE_CACHE_TTL: "0" }).storeCacheTtlMs).toBe(0);
    expect(loadConfig({ STORE_CACHE_TTL: "off" }).storeCacheTtlMs).toBe(0);
  });

  it("reads METRICS_PORT, unset by default", () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9464" }).metricsPort).toBe(9464);
    // Both ephemeral (tests): two different ports.
    expect(loadConfig({ PORT: "0", METRICS_PORT: "0" }).metricsPort).toBe(0);
  });

  it("turns GraphiQL and introspection off in production unless asked for", () => {
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true });
    expect(
      loadConfig({
        NODE_ENV: "production",
        JWT_SECRET: "a-long-production-secret",
        PUBLIC_URL: "https://orders.shop.example",
      }),
    ).toMatchObject({ graphiql: false, introspection: false });
    expect(
      loadConfig({
        NODE_ENV: "production",
        JWT_SECRET: "a-long-production-secret",
        PUBLIC_URL: "https://orders.shop.example",
        GRAPHIQL: "on",
        GRAPHQL_INTROSPECTION: "yes",
      }),
    ).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    expect(() => loadConfig({ GRAPHIQL: "sometimes" })).toThrow("GRAPHIQL: GRAPHIQL must be true or false");
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", PORT: "" })).toMatchObject({ databaseUrl: undefined, port: 9000 });
  });

  it("in production, needs to know where people reach it, or the storefront's confirm page", () => {
    expect(
      loadConfig({
        NODE_ENV: "production",
        JWT_SECRET: "a-long-production-secret",
        CLAIM_CONFIRM_URL: "https://shop.example/c?t={token}",
      }),
    ).toMatchObject({
      publicUrl: undefined,
      claimConfirmUrl: "https://shop.example/c?t={token}",
    });
  });

  it("uses JWT_SECRET in production", () => {
    expect(
      loadConfig({
        NODE_ENV: "production",
        JWT_SECRET: "a-long-production-secret",
        PUBLIC_URL: "https://orders.shop.example",
      }),
    ).toMatchObject({
      production: true,
      jwtSecret: "a-long-production-secret",
    });
  });
});
