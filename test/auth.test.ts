import { createClient } from "graphql-ws";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { claimScenario, seedScenario } from "./support/scenarios";

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
    const payload = jwt.verify(response.json.access_token, TEST_JWT_SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload;
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
    expect((await t.request("GET", `/store/auth/${encodeURIComponent(customers.workGuest.email)}`)).json).toEqual({ exists: false });
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
    const bobToken = (await t.request("POST", "/store/auth/token", { body: { email: customers.bob.email, password: customers.bob.password } })).json.access_token;
    expect(await me({ cookie, bearer: bobToken })).toEqual({ id: customers.ann.id });
    expect((await t.request("GET", "/store/auth", { cookie, bearer: bobToken })).json.customer.id).toBe(customers.ann.id);
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
    const form = await t.request("POST", "/graphql", { cookie, rawBody: "query={me{id}}", headers: { "content-type": "application/x-www-form-urlencoded" } });
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
    const client = createClient({ url: `${t.url.replace(/^http/, "ws")}/graphql`, webSocketImpl: CookieWebSocket, retryAttempts: 0 });
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

describe("anything else", () => {
  it("an unknown store route is a Medusa-shaped 404", async () => {
    const response = await t.request("GET", "/store/nope");
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ type: "not_found", message: "Route GET /store/nope was not found" });
  });

  it("health and readiness probes answer", async () => {
    expect((await t.request("GET", "/health")).json).toEqual({ status: "ok" });
    expect((await t.request("GET", "/ready")).json).toEqual({ status: "ready", checks: { database: "up", redis: "in-process" } });
  });
});
