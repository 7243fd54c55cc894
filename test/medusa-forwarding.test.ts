import { FORWARDED_ROUTE } from "../src/rest/medusa-forwarding";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { rawRequest } from "./support/raw-http";
import { MEDUSA_STORE_CORS, TestMedusa, describeWithMedusa } from "./support/medusa";
import { claimScenario, seedScenario } from "./support/scenarios";
import { eventually } from "./support/wait";

const describeInMedusa = describeWithMedusa("the Medusa forwarding tests");

jest.setTimeout(120_000);

/** The storefront ordergate's STORE_CORS allows (Medusa's own policy allows another). */
const GATEWAY_STORE_CORS = "http://gateway-shop.example";

describeInMedusa("in front of a real Medusa v1: every other /store route is forwarded", () => {
  let medusa: TestMedusa;
  let t: TestGateway;

  beforeAll(async () => {
    medusa = await (await TestMedusa.create(TEST_JWT_SECRET)).start();
    t = await startTestGateway({ MEDUSA_URL: medusa.url, MEDUSA_TIMEOUT: "2s", STORE_CORS: GATEWAY_STORE_CORS });
    await seedScenario(t.prisma, claimScenario);
  });
  afterAll(async () => {
    await t?.close();
    await medusa?.close();
  });

  const through = (method: string, route: string, body?: unknown) =>
    medusa.request(method, route, { body, baseUrl: t.url });

  it("answers a product list, a region list and a cart exactly as Medusa does", async () => {
    for (const route of [
      "/store/products",
      "/store/regions",
      "/store/products?limit=1&offset=0",
      "/store/collections",
    ]) {
      const [direct, forwarded] = [await medusa.request("GET", route), await through("GET", route)];
      expect(forwarded.status).toBe(direct.status);
      expect(forwarded.headers.get("content-type")).toBe(direct.headers.get("content-type"));
      expect(forwarded.json).toEqual(direct.json);
    }
    const created = await through("POST", "/store/carts", { region_id: await medusa.regionId() });
    expect(created.status).toBe(200);
    const cartId = created.json.cart.id as string;
    expect(cartId).toMatch(/^cart_/);
    const [direct, forwarded] = [
      await medusa.request("GET", `/store/carts/${cartId}`),
      await through("GET", `/store/carts/${cartId}`),
    ];
    expect(forwarded.json).toEqual(direct.json);
  });

  it("carries a whole guest checkout through to Medusa's order", async () => {
    const order = await medusa.placeGuestOrder("guest.through@example.com", { baseUrl: t.url });
    expect(order.id).toMatch(/^order_/);
    // Medusa, asked directly, has it.
    const lookup = await medusa.request("GET", `/store/orders/cart/${order.cart_id}`);
    expect(lookup.status).toBe(200);
    expect(lookup.json.order).toMatchObject({ id: order.id, email: "guest.through@example.com" });
  });

  it("streams a chunked body to Medusa whole while counting it against the body limit", async () => {
    // Counting the bytes on their way must not hold back or lose any: Medusa parses the JSON.
    const json = JSON.stringify({ region_id: await medusa.regionId() });
    const chunks =
      [json.slice(0, 5), json.slice(5)]
        .map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`)
        .join("") + "0\r\n\r\n";
    const head = [
      "POST /store/carts HTTP/1.1",
      `Host: ${new URL(t.url).host}`,
      "Content-Type: application/json",
      "Transfer-Encoding: chunked",
      "Connection: close",
    ].join("\r\n");
    const response = await rawRequest(t.url, head, chunks);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).cart.region_id).toBe(await medusa.regionId());
  });

  it("passes Medusa's errors through as they are, and answers its own routes itself", async () => {
    const [direct, forwarded] = [
      await medusa.request("GET", "/store/products/prod_missing"),
      await through("GET", "/store/products/prod_missing"),
    ];
    expect(forwarded.status).toBe(404);
    expect(forwarded.json).toEqual(direct.json);
    const invalid = await through("POST", "/store/carts", { region_id: 12 });
    expect(invalid.status).toBe((await medusa.request("POST", "/store/carts", { body: { region_id: 12 } })).status);
    // ordergate's own: its login, not Medusa's (whose database has no such customer).
    const login = await through("POST", "/store/auth/token", {
      email: claimScenario.customers.ann.email,
      password: claimScenario.customers.ann.password,
    });
    expect(login.status).toBe(200);
    // ordergate's own claim routes, which Medusa v1 does not have: answered here, never forwarded.
    const bearer = login.json.access_token as string;
    const claims = await medusa.request("GET", "/store/customers/me/order-claims", { baseUrl: t.url, bearer });
    expect(claims.status).toBe(200);
    expect(claims.json).toEqual({ order_claims: [], count: 0, offset: 0, limit: 10 });
    const declined = await through("POST", "/store/orders/customer/decline", { token: "no-such-token" });
    expect(declined.json).toEqual({ type: "invalid_data", message: "The claim token is invalid." });
    const canceled = await medusa.request("DELETE", "/store/customers/me/order-claims/oclaim_unknown", {
      baseUrl: t.url,
      bearer,
    });
    expect(canceled.json).toEqual({ type: "not_found", message: "No claim of yours has this id." });
  });

  it("answers browsers with ordergate's CORS policy only, and logs and counts forwarded requests under one route", async () => {
    // Medusa itself answers its storefront's origin with CORS headers of its own...
    const direct = await fetch(`${medusa.url}/store/products`, { headers: { origin: MEDUSA_STORE_CORS } });
    expect(direct.headers.get("access-control-allow-origin")).toBe(MEDUSA_STORE_CORS);
    // ...which ordergate drops: STORE_CORS is the one policy for /store.
    const notAllowedHere = await fetch(`${t.url}/store/products`, { headers: { origin: MEDUSA_STORE_CORS } });
    expect(notAllowedHere.status).toBe(200);
    expect(notAllowedHere.headers.get("access-control-allow-origin")).toBeNull();
    const response = await fetch(`${t.url}/store/products`, {
      headers: { origin: GATEWAY_STORE_CORS, "x-request-id": "forwarded-1" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(GATEWAY_STORE_CORS);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("x-request-id")).toBe("forwarded-1");
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain(`route="${FORWARDED_ROUTE}"`);
    // The request line is written when the response has finished, which may be after the client has read it.
    await eventually(() =>
      t.logs.some((line) => line.includes('"requestId":"forwarded-1"') && line.includes(FORWARDED_ROUTE))
        ? true
        : undefined,
    );
  });

  it("answers 504 when Medusa does not answer in time, and 502 at once when it is down; its own routes keep working", async () => {
    // Frozen: the kernel still accepts the connection, nobody answers.
    medusa.signal("SIGSTOP");
    try {
      const started = Date.now();
      const slow = await through("GET", "/store/products");
      expect(slow.status).toBe(504);
      expect(slow.json).toEqual({
        type: "unknown_error",
        code: "medusa_timeout",
        message: "The store backend did not answer within 2 s.",
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      medusa.signal("SIGCONT");
    }

    await medusa.stop();
    try {
      const started = Date.now();
      const down = await through("GET", "/store/products");
      expect(down.status).toBe(502);
      expect(down.json).toEqual({
        type: "unknown_error",
        code: "medusa_unavailable",
        message: "The store backend could not be reached.",
      });
      expect(Date.now() - started).toBeLessThan(1000);
      const own = await through("POST", "/store/auth/token", {
        email: claimScenario.customers.ann.email,
        password: claimScenario.customers.ann.password,
      });
      expect(own.status).toBe(200);
    } finally {
      await medusa.start();
    }
    expect((await through("GET", "/store/products")).status).toBe(200);
  });
});
