import { createClient } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { claimScenario, defineScenario, seedScenario, storeTokenFor } from "./support/scenarios";
import { subscribe, type SubscriptionStream } from "./support/subscriptions";
import { sleep } from "./support/wait";

const { customers } = claimScenario;
const ann = { email: customers.ann.email, password: customers.ann.password! };

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
  await seedScenario(t.prisma, claimScenario);
});
afterAll(() => t?.close());

const sessionCookie = (setCookie: string | null) => setCookie!.split(";")[0]!;

describe("POST /store/auth/token (Customer Login, JWT)", () => {
  it("issues an HS256 store JWT carrying customer_id and domain store", async () => {
    const response = await t.request("POST", "/store/auth/token", { body: ann });
    expect(response.status).toBe(200);
    expect(Object.keys(response.json)).toEqual(["access_token"]);
    const payload = jwt.verify(response.json.access_token, TEST_JWT_SECRET, {
      algorithms: ["HS256"],
    }) as jwt.JwtPayload;
    expect(payload).toMatchObject({ customer_id: customers.ann.id, domain: "store" });
    expect(payload.exp! - payload.iat!).toBe(30 * 24 * 3600);

    const me = await t.request("GET", "/store/auth", { bearer: response.json.access_token });
    expect(me.status).toBe(200);
    expect(me.json.customer).toMatchObject({ id: customers.ann.id, email: ann.email, has_account: true });
    expect(me.json.customer).not.toHaveProperty("password_hash");
  });

  it("accepts the email in any case", async () => {
    const response = await t.request("POST", "/store/auth/token", { body: { ...ann, email: "  ANN@Example.COM " } });
    expect(response.status).toBe(200);
  });

  it.each([
    ["a wrong password", { ...ann, password: "wrong" }],
    ["an unknown email", { email: "nobody@example.com", password: "x" }],
    ["a guest record's email", { email: customers.workGuest.email, password: "anything" }],
  ])("answers 401 unauthorized for %s, with the same message", async (_name, body) => {
    const response = await t.request("POST", "/store/auth/token", { body });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ type: "unauthorized", message: "The email or password is incorrect." });
  });

  it.each([
    ["no body fields", {}, "email must be an email, password must be a string"],
    ["a malformed email", { email: "ann", password: "x" }, "email must be an email"],
    ["a NUL byte in the email", { email: "ann\u0000@example.com", password: "x" }, "email must be an email"],
    ["an empty password", { email: ann.email, password: "" }, "password should not be empty"],
    ["an unknown property", { ...ann, remember: true }, "property remember should not exist"],
  ])("answers 400 invalid_data for %s", async (_name, body, message) => {
    const response = await t.request("POST", "/store/auth/token", { body });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message });
  });
});

describe("POST /store/auth (Customer Login, cookie session)", () => {
  it("returns the customer without its password hash and sets an httpOnly session cookie", async () => {
    const response = await t.request("POST", "/store/auth", { body: ann });
    expect(response.status).toBe(200);
    expect(response.json.customer).toMatchObject({ id: customers.ann.id, email: ann.email, first_name: "Ann" });
    expect(response.text).not.toContain("password_hash");
    const setCookie = response.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^connect\.sid=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/i);

    const cookie = sessionCookie(setCookie);
    const me = await t.request("GET", "/store/auth", { cookie });
    expect(me.status).toBe(200);
    expect(me.json.customer.id).toBe(customers.ann.id);
  });

  it("logs out with DELETE /store/auth: the session stops working", async () => {
    const cookie = sessionCookie((await t.request("POST", "/store/auth", { body: ann })).headers.get("set-cookie"));
    const out = await t.request("DELETE", "/store/auth", { cookie });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({});
    expect(out.headers.get("set-cookie")).toMatch(/connect\.sid=;/);
    const me = await t.request("GET", "/store/auth", { cookie });
    expect(me.status).toBe(401);
    expect(me.json).toEqual({ type: "unauthorized", message: "Unauthorized" });
  });

  it("refuses an expired session and forgets it", async () => {
    const cookie = sessionCookie((await t.request("POST", "/store/auth", { body: ann })).headers.get("set-cookie"));
    await t.prisma.customerSession.updateMany({ data: { expires_at: new Date(Date.now() - 1000) } });
    const sessions = await t.prisma.customerSession.count();
    expect((await t.request("GET", "/store/auth", { cookie })).status).toBe(401);
    expect(await t.prisma.customerSession.count()).toBe(sessions - 1);
  });
});

describe("GET /store/auth/:email (Check if Email Exists)", () => {
  it("is true only for a registered customer", async () => {
    expect((await t.request("GET", "/store/auth/ann@example.com")).json).toEqual({ exists: true });
    expect((await t.request("GET", `/store/auth/${encodeURIComponent(customers.workGuest.email)}`)).json).toEqual({
      exists: false,
    });
    expect((await t.request("GET", "/store/auth/nobody@example.com")).json).toEqual({ exists: false });
    expect((await t.request("GET", "/store/auth/ann%00@example.com")).json).toEqual({ exists: false });
  });
});

describe("GraphQL authentication", () => {
  it("reads the same store JWT through the JWT plugin", async () => {
    const token = (await t.request("POST", "/store/auth/token", { body: ann })).json.access_token;
    const result = await t.graphql<{ me: { id: string; email: string } }>("{ me { id email } }", {}, token);
    expect(result.data!.me).toEqual({ id: customers.ann.id, email: ann.email });
  });

  it("signs in over HTTP with the session cookie of POST /store/auth, until the session ends", async () => {
    const cookie = sessionCookie((await t.request("POST", "/store/auth", { body: ann })).headers.get("set-cookie"));
    const me = async (options: { cookie?: string; bearer?: string }) =>
      (await t.request("POST", "/graphql", { ...options, body: { query: "{ me { id } }" } })).json.data.me;
    expect(await me({ cookie })).toEqual({ id: customers.ann.id });
    // With both, the session comes first, on /graphql as on /store (Medusa's order); a bearer alone signs in.
    const bobToken = (
      await t.request("POST", "/store/auth/token", {
        body: { email: customers.bob.email, password: customers.bob.password },
      })
    ).json.access_token;
    expect(await me({ cookie, bearer: bobToken })).toEqual({ id: customers.ann.id });
    expect((await t.request("GET", "/store/auth", { cookie, bearer: bobToken })).json.customer.id).toBe(
      customers.ann.id,
    );
    expect(await me({ bearer: bobToken })).toEqual({ id: customers.bob.id });
    await t.request("DELETE", "/store/auth", { cookie });
    expect(await me({ cookie })).toBeNull();
  });

  it("does not let a cross-site page ride on the session cookie: a request without a preflight is refused", async () => {
    const cookie = sessionCookie((await t.request("POST", "/store/auth", { body: ann })).headers.get("set-cookie"));
    // What a <form> or <img> from another site could send: no JSON content type, no custom header.
    const simple = await t.request("GET", `/graphql?query=${encodeURIComponent("{ me { id } }")}`, { cookie });
    expect(simple.status).toBe(403);
    expect(simple.text).not.toContain(customers.ann.id);
    const form = await t.request("POST", "/graphql", {
      cookie,
      rawBody: "query={me{id}}",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(403);
    expect(form.text).not.toContain(customers.ann.id);
  });

  it("ignores the session cookie on WebSocket, which has no CORS: only connectionParams sign in there", async () => {
    const cookie = sessionCookie((await t.request("POST", "/store/auth", { body: ann })).headers.get("set-cookie"));
    class CookieWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { cookie } });
      }
    }
    const client = createClient({
      url: `${t.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: CookieWebSocket,
      retryAttempts: 0,
    });
    try {
      const results = [];
      for await (const result of client.iterate({ query: "{ me { id } }" })) results.push(result);
      expect(results).toEqual([{ data: { me: null } }]);
    } finally {
      await client.dispose();
    }
  });

  it("treats a JWT that is not a store token as signed out", async () => {
    const adminLike = jwt.sign({ user_id: "usr_1", domain: "admin" }, TEST_JWT_SECRET, { algorithm: "HS256" });
    const result = await t.graphql<{ me: unknown }>("{ me { id } }", {}, adminLike);
    expect(result.data!.me).toBeNull();
  });
});

describe("credentials whose customer does not exist (never did, or was deleted)", () => {
  /** A customer with an order of her own, deleted as Medusa deletes (deleted_at set) after she signed in both ways. */
  const gone = defineScenario({
    customers: {
      gone: { id: "cus_gone", email: "gone@example.com", password: "a long passphrase", has_account: true },
    },
    orders: {
      own: {
        id: "order_gone",
        display_id: 1901,
        email: "gone@example.com",
        customer_id: "cus_gone",
        items: [{ title: "Lamp", unit_price: 900, quantity: 1 }],
      },
    },
  });
  const deleted = { bearer: "", cookie: "" };
  beforeAll(async () => {
    await seedScenario(t.prisma, gone);
    const { email, password } = gone.customers.gone;
    deleted.bearer = (await t.request("POST", "/store/auth/token", { body: { email, password } })).json.access_token;
    deleted.cookie = sessionCookie(
      (await t.request("POST", "/store/auth", { body: { email, password } })).headers.get("set-cookie"),
    );
    await t.prisma.customer.update({ where: { id: gone.customers.gone.id }, data: { deleted_at: new Date() } });
  });

  // Credentials as functions: the deleted customer's exist only once beforeAll has run.
  type Case = [string, () => { bearer?: string; cookie?: string }];
  const jwtCases: Case[] = [
    ["a JWT for a customer id that never existed", () => ({ bearer: storeTokenFor("cus_never_existed") })],
    ["a JWT for a deleted customer", () => ({ bearer: deleted.bearer })],
  ];
  const cases: Case[] = [...jwtCases, ["a session of a deleted customer", () => ({ cookie: deleted.cookie })]];
  const CLAIM_UPDATES = "subscription { orderClaimUpdated { id } }";

  it.each(cases)(
    "%s is signed out on the REST routes that need a customer: 401 unauthorized",
    async (_case, credentials) => {
      for (const [method, path, body] of [
        ["GET", "/store/customers/me/orders"],
        ["GET", "/store/customers/me"],
        ["GET", "/store/auth"],
        ["POST", "/store/orders/batch/customer/token", { order_ids: [claimScenario.orders.home.id] }],
      ] as const) {
        const response = await t.request(method, path, { ...credentials(), body });
        expect([method, path, response.status, response.json]).toEqual([
          method,
          path,
          401,
          { type: "unauthorized", message: "Unauthorized" },
        ]);
      }
      expect(await t.prisma.orderClaim.count()).toBe(0);
    },
  );

  it.each(cases)(
    "%s is signed out in GraphQL: me and the customer's order are null, claimOrders answers NotAuthenticatedError",
    async (_case, credentials) => {
      const graphql = async (query: string) =>
        (await t.request("POST", "/graphql", { ...credentials(), body: { query } })).json;
      expect(await graphql(`{ me { id } order(id: "${gone.orders.own.id}") { id } }`)).toEqual({
        data: { me: null, order: null },
      });
      const claimed = await graphql(
        `mutation { claimOrders(orderIds: ["${claimScenario.orders.home.id}"]) { __typename ... on Error { code message } } }`,
      );
      expect(claimed).toEqual({
        data: {
          claimOrders: {
            __typename: "NotAuthenticatedError",
            code: "UNAUTHENTICATED",
            message: "Sign in as a customer to do this.",
          },
        },
      });
    },
  );

  /** How the stream ended, or "still open" after a few seconds (a refused stream ends at once). */
  const endOf = (stream: SubscriptionStream) => Promise.race([stream.ended, sleep(3_000).then(() => "still open")]);

  it.each(cases)("%s is refused a claim subscription over SSE, as signed out", async (_case, credentials) => {
    const stream = await subscribe("sse", t.url, CLAIM_UPDATES, credentials());
    try {
      expect(await endOf(stream)).toEqual({ kind: "complete" });
      expect(stream.status).toBe(401);
      expect(stream.pending()).toEqual([
        {
          errors: [
            expect.objectContaining({
              message: "Sign in as a customer to do this.",
              extensions: { code: "UNAUTHENTICATED" },
            }),
          ],
        },
      ]);
    } finally {
      await stream.close();
    }
  });

  // WebSocket ignores cookies: only a JWT can present itself there.
  it.each(jwtCases)(
    "%s is refused on WebSocket with 4403, as a token that does not verify",
    async (_case, credentials) => {
      const stream = await subscribe("ws", t.url, CLAIM_UPDATES, credentials());
      try {
        expect(await endOf(stream)).toEqual({ kind: "closed", code: 4403, reason: "Forbidden" });
      } finally {
        await stream.close();
      }
    },
  );
});

describe("anything else", () => {
  it("an unknown store route is a Medusa-shaped 404", async () => {
    const response = await t.request("GET", "/store/nope");
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ type: "not_found", message: "Route GET /store/nope was not found" });
  });

  it("health and readiness probes answer", async () => {
    expect((await t.request("GET", "/health")).json).toEqual({ status: "ok" });
    expect((await t.request("GET", "/ready")).json).toEqual({
      status: "ready",
      checks: { database: "up", redis: "in-process" },
    });
  });
});
