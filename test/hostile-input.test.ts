import fc from "fast-check";
import jwt from "jsonwebtoken";
import { normalizeEmail } from "../src/domain/email";
import { logEntries, type TestGateway, TEST_JWT_SECRET, type TestResponse } from "./support/gateway";
import { claimScenario, loginToken, seedScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { subscribe } from "./support/subscriptions";

/**
 * What an attacker would send to every Store route and GraphQL operation ordergate answers:
 * LIKE wildcards, backslashes, Unicode, NUL, huge numbers, arrays and objects where strings go,
 * other customers' ids, and forged, foreign, expired and unknown-customer tokens. Whatever comes
 * in: no 5xx, nothing logged as an error, nothing of anyone else in the answer, and errors in
 * one stable shape per door.
 */
jest.setTimeout(120_000);

const { customers, orders } = claimScenario;
const fixture = useClaimFixture();
let t: TestGateway;
let mail: TestMailServer;

/** Mallory: a customer with an account and no orders, who wants everyone else's. */
const mallory = {
  id: "cus_mallory",
  email: "mallory@example.org",
  password: "mallory's password",
  first_name: "Mallory",
  has_account: true,
};
let malloryToken: string;

/** What no caller here may see: other customers' addresses, ids, orders and their contents. */
const SOMEONE_ELSES = [
  "ann@example.com",
  "ann.work@example.com",
  "ann.home@example.net",
  "bob@example.com",
  customers.ann.id,
  customers.bob.id,
  customers.workGuest.id,
  ...Object.values(orders).map((order) => order.id),
  "Mug",
  "Teapot",
  "Notebook",
  "Coasters",
  "Kettle",
];

const sign = (payload: object, secret = TEST_JWT_SECRET, options: jwt.SignOptions = {}) =>
  jwt.sign(payload, secret, { algorithm: "HS256", ...options });
/** Who is asking: nobody, Mallory, or someone holding a token that must sign nobody in. */
const CALLERS: [string, () => { bearer?: string; cookie?: string }][] = [
  ["nobody", () => ({})],
  ["Mallory", () => ({ bearer: malloryToken })],
  [
    "a token signed with another secret",
    () => ({ bearer: sign({ customer_id: customers.ann.id, domain: "store" }, "another secret of sixteen+ chars") }),
  ],
  [
    "an admin-domain token (Medusa's user tokens)",
    () => ({ bearer: sign({ user_id: customers.ann.id, customer_id: customers.ann.id, domain: "admin" }) }),
  ],
  [
    "an expired token",
    () => ({
      bearer: sign({ customer_id: customers.ann.id, domain: "store", exp: Math.floor(Date.now() / 1000) - 60 }),
    }),
  ],
  ["a token for a customer who does not exist", () => ({ bearer: storeTokenFor("cus_nobody") })],
  [
    "an unsigned token (alg none)",
    () => ({
      bearer: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify({ customer_id: customers.ann.id, domain: "store" })).toString("base64url")}.`,
    }),
  ],
  ["a forged session cookie", () => ({ cookie: "connect.sid=s%3Aforged.signature" })],
];

/** Values where a string, an id, a number or a list is expected. */
const HOSTILE: unknown[] = [
  "",
  " ",
  "%",
  "_",
  "%@%.%",
  "_nn.work@example.com",
  "ann.work@example.co_",
  "\\",
  "\\%",
  "ann.work@example.com\u0000",
  "\u0000",
  "order_w1\u0000",
  "\u0000order_w1",
  "line\nbreak",
  "ÉLISE@EXAMPLE.COM",
  "👩‍💻@example.com",
  "\u202egro.elpmaxe@yrallam",
  "x".repeat(5000),
  '\'; DROP TABLE "order"; --',
  "../../etc/passwd",
  "%00",
  "__proto__",
  "constructor",
  0,
  -1,
  1.5,
  1e308,
  2 ** 53 + 1,
  "99999999999999999999999",
  null,
  true,
  [],
  ["order_w1"],
  [orders.bobs.id, orders.work1.id],
  {},
  { $ne: null },
  { __proto__: { admin: true } },
];

/** A value as it travels in a URL (path segment or query value). */
const inUrl = (value: unknown) => encodeURIComponent(typeof value === "string" ? value : (JSON.stringify(value) ?? ""));

type Attempt = { method: string; path: string; body?: unknown };
/** Every Store route ordergate answers (no MEDUSA_URL), each with the hostile value in every input it takes. */
const STORE_ROUTES: [string, (value: unknown) => Attempt[]][] = [
  [
    "POST /store/auth",
    (v) => [
      { method: "POST", path: "/store/auth", body: { email: v, password: v } },
      { method: "POST", path: "/store/auth", body: { email: mallory.email, password: v } },
    ],
  ],
  ["POST /store/auth/token", (v) => [{ method: "POST", path: "/store/auth/token", body: { email: v, password: v } }]],
  ["GET /store/auth", () => [{ method: "GET", path: "/store/auth" }]],
  ["DELETE /store/auth", () => [{ method: "DELETE", path: "/store/auth" }]],
  ["GET /store/auth/:email", (v) => [{ method: "GET", path: `/store/auth/${inUrl(v)}` }]],
  [
    "POST /store/customers",
    (v) => [
      {
        method: "POST",
        path: "/store/customers",
        body: { email: v, password: v, first_name: v, last_name: v, phone: v },
      },
    ],
  ],
  ["GET /store/customers/me", () => [{ method: "GET", path: "/store/customers/me" }]],
  [
    "GET /store/customers/me/orders",
    (v) => [
      { method: "GET", path: `/store/customers/me/orders?limit=${inUrl(v)}&offset=${inUrl(v)}` },
      { method: "GET", path: `/store/customers/me/orders?status[]=${inUrl(v)}&fields=${inUrl(v)}&expand=${inUrl(v)}` },
      { method: "GET", path: `/store/customers/me/orders?fields[0]=${inUrl(v)}&expand[x]=${inUrl(v)}` },
    ],
  ],
  [
    "GET /store/orders (look up)",
    (v) => [
      { method: "GET", path: `/store/orders?display_id=1001&email=${inUrl(v)}` },
      { method: "GET", path: `/store/orders?display_id=${inUrl(v)}&email=ann.work%40example.com` },
      { method: "GET", path: `/store/orders?display_id[]=1001&email[]=${inUrl(v)}` },
    ],
  ],
  ["GET /store/orders/:id", (v) => [{ method: "GET", path: `/store/orders/${inUrl(v)}` }]],
  ["GET /store/orders/cart/:cart_id", (v) => [{ method: "GET", path: `/store/orders/cart/${inUrl(v)}` }]],
  [
    "POST /store/orders/batch/customer/token",
    (v) => [
      { method: "POST", path: "/store/orders/batch/customer/token", body: { order_ids: v } },
      { method: "POST", path: "/store/orders/batch/customer/token", body: { order_ids: [v] } },
    ],
  ],
  [
    "POST /store/orders/customer/confirm",
    (v) => [{ method: "POST", path: "/store/orders/customer/confirm", body: { token: v } }],
  ],
];

/** Every GraphQL operation, with the hostile value as each of its variables. */
const GRAPHQL_OPERATIONS: [string, string, (value: unknown) => Record<string, unknown>][] = [
  [
    "me",
    `query { me { id email orders(first: 5) { edges { node { id email } } } orderClaims(first: 5) { edges { node { id } } } } }`,
    () => ({}),
  ],
  [
    "me (paging)",
    `query ($first: Int, $after: String) { me { orders(first: $first, after: $after) { edges { node { id } } } } }`,
    (v) => ({ first: v, after: v }),
  ],
  ["order", `query ($id: ID!) { order(id: $id) { id email items { title } } }`, (v) => ({ id: v })],
  [
    "orderLookup",
    `query ($displayId: Int!, $email: String!) { orderLookup(displayId: $displayId, email: $email) { id email } }`,
    (v) => ({ displayId: 1001, email: v }),
  ],
  [
    "orderLookup (display id)",
    `query ($displayId: Int!) { orderLookup(displayId: $displayId, email: "ann.work@example.com") { id } }`,
    (v) => ({ displayId: v }),
  ],
  [
    "claimOrders",
    `mutation ($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename ... on Error { code message } ... on ClaimOrdersSuccess { claims { id recipientEmail } } } }`,
    (v) => ({ ids: v }),
  ],
  [
    "claimOrders (in a list)",
    `mutation ($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename ... on Error { code message } } }`,
    (v) => ({ ids: [v] }),
  ],
  [
    "verifyOrderClaim",
    `mutation ($token: String!) { verifyOrderClaim(token: $token) { __typename ... on Error { code message } ... on VerifyOrderClaimSuccess { transferredOrderIds } } }`,
    (v) => ({ token: v }),
  ],
  [
    "logIn",
    `mutation ($email: String!, $password: String!) { logIn(email: $email, password: $password) { __typename ... on Error { code message } } }`,
    (v) => ({ email: v, password: v }),
  ],
  [
    "registerCustomer",
    `mutation ($input: RegisterCustomerInput!) { registerCustomer(input: $input) { __typename ... on Error { code message } } }`,
    (v) => ({ input: { email: v, password: v, firstName: v, lastName: v, phone: v } }),
  ],
];

/** The first of someone else's data in an answer that the request did not itself carry (an echo is no leak). */
function leakIn(response: TestResponse, sent: unknown): string | null {
  const request = JSON.stringify(sent) ?? "";
  const text = withJwtClaims(response.text);
  return SOMEONE_ELSES.find((secret) => text.includes(secret) && !request.includes(secret)) ?? null;
}

/**
 * The text with each JWT in it replaced by its claims: what a token tells is in them, and its
 * signature's random characters once spelled "Mug", an order's item.
 */
function withJwtClaims(text: string): string {
  return text.replace(/eyJ[\w-]*\.([\w-]+)\.[\w-]+/g, (_token, claims: string) =>
    Buffer.from(claims, "base64url").toString("utf8"),
  );
}

/** No 5xx, nothing of anyone else, Medusa's error body for every refusal. */
function expectSafeStoreAnswer(response: TestResponse, sent: unknown, what: string): void {
  expect({ what, status: response.status < 500 }).toEqual({ what, status: true });
  expect({ what, leaks: leakIn(response, sent) }).toEqual({ what, leaks: null });
  if (response.status >= 400) {
    expect({
      what,
      shape: typeof response.json?.type === "string" && typeof response.json?.message === "string",
    }).toEqual({ what, shape: true });
  }
}

/** No 5xx, no masked (unexpected) error, nothing of anyone else, every error with a message. */
function expectSafeGraphQLAnswer(response: TestResponse, sent: unknown, what: string): void {
  expect({ what, status: response.status < 500 }).toEqual({ what, status: true });
  expect({ what, leaks: leakIn(response, sent) }).toEqual({ what, leaks: null });
  const body = response.json as { data?: unknown; errors?: { message: unknown; extensions?: { code?: unknown } }[] };
  expect({
    what,
    shape: body !== null && typeof body === "object" && ("data" in body || Array.isArray(body.errors)),
  }).toEqual({ what, shape: true });
  for (const error of body.errors ?? []) {
    expect({ what, message: typeof error.message }).toEqual({ what, message: "string" });
    expect({ what, unexpected: error.message === "Unexpected error." }).toEqual({ what, unexpected: false });
  }
}

const errorLines = () => logEntries(t).filter((entry) => entry.level === "error");

beforeAll(async () => {
  ({ t, mail } = fixture);
  await seedScenario(t.prisma, { customers: { mallory }, orders: {} });
  malloryToken = await loginToken(t, mallory.email, mallory.password);
});
beforeEach(async () => {
  await seedScenario(t.prisma, { customers: { mallory }, orders: {} });
});
afterEach(() => {
  expect(errorLines()).toEqual([]);
});

describe.each(CALLERS)("as %s", (_caller, credentials) => {
  it.each(STORE_ROUTES)("%s: no 5xx, nothing of anyone else, Medusa's error shape", async (route, attempts) => {
    for (const value of HOSTILE) {
      for (const attempt of attempts(value)) {
        const response = await t.request(attempt.method, attempt.path, {
          ...credentials(),
          ...(attempt.body === undefined ? {} : { body: attempt.body }),
        });
        expectSafeStoreAnswer(
          response,
          { path: decodeURIComponent(attempt.path), body: attempt.body },
          `${route} with ${JSON.stringify(value)?.slice(0, 40)}: ${response.status} ${response.text.slice(0, 200)}`,
        );
      }
    }
  });

  it.each(GRAPHQL_OPERATIONS)(
    "GraphQL %s: no 5xx, no unexpected error, nothing of anyone else",
    async (name, query, variables) => {
      for (const value of HOSTILE) {
        const response = await t.request("POST", "/graphql", {
          ...credentials(),
          body: { query, variables: variables(value) },
        });
        expectSafeGraphQLAnswer(
          response,
          variables(value),
          `${name} with ${JSON.stringify(value)?.slice(0, 40)}: ${response.status} ${response.text.slice(0, 200)}`,
        );
      }
    },
  );
});

describe("nothing reaches someone else's orders", () => {
  it("no claim Mallory opens names an order of an account, and no email goes anywhere for hostile ids", async () => {
    for (const value of HOSTILE) {
      await t.request("POST", "/store/orders/batch/customer/token", {
        bearer: malloryToken,
        body: { order_ids: [value, orders.bobs.id, orders.annOwn.id] },
      });
    }
    await t.gateway.jobWorker!.flush();
    expect(mail.messages).toEqual([]);
    expect(await t.prisma.orderClaim.count()).toBe(0);
  });

  it("Mallory's token, read for another customer's order by id in GraphQL, finds nothing", async () => {
    for (const id of [orders.bobs.id, orders.work1.id, orders.annOwn.id]) {
      const response = await t.request("POST", "/graphql", {
        bearer: malloryToken,
        body: { query: `query ($id: ID!) { order(id: $id) { id } }`, variables: { id } },
      });
      expect(response.json).toEqual({ data: { order: null } });
    }
  });
});

describe("subscriptions", () => {
  it.each(["sse", "ws"] as const)(
    "orderClaimUpdated over %s: a hostile claimId is not found, and nothing reaches PostgreSQL to fail",
    async (transport) => {
      for (const claimId of ["\u0000", "oclaim_\u0000x", "%", "_", "\\", "x".repeat(5000), "👩‍💻"]) {
        const stream = await subscribe(
          transport,
          t.url,
          `subscription ($claimId: ID) { orderClaimUpdated(claimId: $claimId) { id status } }`,
          { bearer: malloryToken, variables: { claimId } },
        );
        try {
          const refused = await stream.next();
          expect(refused.errors).toEqual([expect.objectContaining({ extensions: { code: "NOT_FOUND" } })]);
        } finally {
          await stream.close();
        }
      }
    },
  );
});

describe("property-based", () => {
  it("the order lookup finds an order only for its own address, compared in one normalised form", async () => {
    const address = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(..."%_\\annwork.@exmplcoÉé\u0000\t ".split("")), maxLength: 30 }),
      fc.constantFrom(" ANN.WORK@example.com", "ann.work@example.com\t", "ann.work@example.com"),
    );
    await fc.assert(
      fc.asyncProperty(address, async (email) => {
        const response = await t.request("GET", `/store/orders?display_id=1001&email=${encodeURIComponent(email)}`);
        expect(response.status).toBeLessThan(500);
        const found = response.status === 200;
        expect(found).toBe(normalizeEmail(email) === "ann.work@example.com");
      }),
      { numRuns: 150 },
    );
  });

  it("a confirmation with any token but a real one is a 400 invalid_data and changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.string({
            unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".split("")),
            minLength: 43,
            maxLength: 43,
          }),
          fc.jsonValue(),
        ),
        async (token) => {
          const response = await t.request("POST", "/store/orders/customer/confirm", { body: { token } });
          expect(response.status).toBe(400);
          expect(response.json).toMatchObject({ type: "invalid_data", message: expect.any(String) });
        },
      ),
      { numRuns: 150 },
    );
    expect(await t.prisma.order.count({ where: { customer_id: mallory.id } })).toBe(0);
  });

  it("a claim with any list of ids is a 200 or a 400 naming the problem, never someone's account's orders", async () => {
    const ids = fc.oneof(fc.array(fc.string({ maxLength: 30 }), { maxLength: 8 }), fc.jsonValue());
    await fc.assert(
      fc.asyncProperty(ids, async (orderIds) => {
        const response = await t.request("POST", "/store/orders/batch/customer/token", {
          bearer: malloryToken,
          body: { order_ids: orderIds },
        });
        expect([200, 400]).toContain(response.status);
        if (response.status === 400)
          expect(response.json).toMatchObject({ type: "invalid_data", message: expect.stringMatching(/order_ids/) });
      }),
      { numRuns: 150 },
    );
    expect(await t.prisma.orderClaim.count()).toBe(0);
  });
});
