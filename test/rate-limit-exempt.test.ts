import { startTestGateway, type TestGateway } from "./support/gateway";
import { claimScenario, seedScenario } from "./support/scenarios";
import { subscribe } from "./support/subscriptions";

/**
 * RATE_LIMIT_EXEMPT: a server-rendered storefront that speaks for every shopper from one address
 * skips the per-address limits on every door; the limits per email still hold for it. The client
 * is the one TRUST_PROXY resolves: behind a trusted proxy, the forwarded address decides.
 */
const { customers } = claimScenario;
const CONFIRM = "/store/orders/customer/confirm";
const LIMITS = {
  RATE_LIMITS: "on",
  RATE_LIMIT_LOGIN_IP: "2/1h",
  RATE_LIMIT_REGISTER_IP: "1/1h",
  RATE_LIMIT_CONFIRM_IP: "1/1h",
  RATE_LIMIT_LOGIN_EMAIL: "3/1h",
};
const VERIFY = "mutation ($token: String!) { verifyOrderClaim(token: $token) { __typename } }";

const lookUp = (t: TestGateway, headers: Record<string, string> = {}) =>
  t.request("GET", "/store/auth/someone@example.com", { headers });

describe("a storefront server named in RATE_LIMIT_EXEMPT (no X-Forwarded-For)", () => {
  let t: TestGateway;
  beforeAll(async () => {
    // Loopback: the test's requests come from 127.0.0.1, as a storefront's server on the same host would.
    t = await startTestGateway({ ...LIMITS, RATE_LIMIT_EXEMPT: "loopback" });
    await seedScenario(t.prisma, claimScenario);
  });
  afterAll(() => t?.close());

  it("is not counted by any per-address limit, on /store, /graphql or WebSocket", async () => {
    for (let i = 0; i < 4; i++) {
      expect((await lookUp(t)).status).toBe(200);
      expect(
        (await t.request("POST", "/store/auth/token", { body: { email: `nobody${i}@example.com`, password: "x" } }))
          .status,
      ).toBe(401);
      expect((await t.request("POST", CONFIRM, { body: { token: "a".repeat(43) } })).status).toBe(400);
      expect((await t.graphql(VERIFY, { token: "b".repeat(43) })).data).toEqual({
        verifyOrderClaim: { __typename: "ClaimTokenInvalidError" },
      });
      const register = await t.request("POST", "/store/customers", {
        body: { email: `shopper${i}@example.com`, password: "pw", first_name: "S", last_name: "H" },
      });
      expect(register.status).toBe(200);
      const ws = await subscribe("ws", t.url, VERIFY.replace("mutation", "mutation Verify"), {
        variables: { token: "c".repeat(43) },
      });
      expect((await ws.next()).data).toEqual({ verifyOrderClaim: { __typename: "ClaimTokenInvalidError" } });
      await ws.close();
    }
  });

  it("is still held to the sign-in limit per email", async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (await t.request("POST", "/store/auth/token", { body: { email: customers.bob.email, password: "wrong" } }))
          .status,
      ).toBe(401);
    const refused = await t.request("POST", "/store/auth/token", {
      body: { email: customers.bob.email, password: customers.bob.password },
    });
    expect(refused.status).toBe(429);
    expect(refused.json.message).toMatch(/^Too many sign-in attempts for this email\./);
  });
});

describe("behind a trusted proxy (TRUST_PROXY), the forwarded client decides", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      ...LIMITS,
      TRUST_PROXY: "loopback",
      RATE_LIMIT_EXEMPT: "198.51.100.0/24, 2001:db8:5::1",
    });
  });
  afterAll(() => t?.close());

  it.each(["198.51.100.7", "2001:db8:5::1"])("an exempt client (%s) is not counted", async (client) => {
    for (let i = 0; i < 4; i++) expect((await lookUp(t, { "x-forwarded-for": client })).status).toBe(200);
  });

  it.each([
    ["a shopper the proxy forwards", { "x-forwarded-for": "203.0.113.9" }],
    ["a client next to the exempt one", { "x-forwarded-for": "198.51.101.7" }],
    ["the proxy itself", {}],
  ])("%s is counted", async (_name, headers: Record<string, string>) => {
    for (let i = 0; i < 2; i++) expect((await lookUp(t, headers)).status).toBe(200);
    expect((await lookUp(t, headers)).status).toBe(429);
  });
});
