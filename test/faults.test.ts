import { startTestGateway, type TestGateway } from "./support/gateway";
import { OutagePostgres } from "./support/own-postgres";
import { claimScenario, loginToken, seedScenario } from "./support/scenarios";
import { eventually } from "./support/wait";

/** Faults with the real service stopped and started again (README "Running in production"). */
const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";

describe("PostgreSQL stopped", () => {
  let postgres: OutagePostgres;
  let t: TestGateway;
  let annToken: string;
  beforeAll(async () => {
    postgres = await new OutagePostgres().start();
    t = await startTestGateway({ DATABASE_URL: postgres.url });
    await seedScenario(t.prisma, claimScenario);
    annToken = await loginToken(t, customers.ann.email, customers.ann.password!);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await postgres?.remove();
  });

  const storeRoutes: [string, string, { body?: unknown; bearer?: boolean }][] = [
    ["POST", "/store/auth/token", { body: { email: customers.ann.email, password: customers.ann.password } }],
    ["POST", "/store/auth", { body: { email: customers.ann.email, password: customers.ann.password } }],
    ["GET", `/store/auth/${customers.ann.email}`, {}],
    ["GET", "/store/auth", { bearer: true }],
    ["POST", CLAIM, { body: { order_ids: [orders.work1.id] }, bearer: true }],
    ["POST", CONFIRM, { body: { token: "a".repeat(43) } }],
    [
      "POST",
      "/store/customers",
      { body: { email: "new@example.com", password: "secret", first_name: "N", last_name: "E" } },
    ],
    ["GET", "/store/customers/me", { bearer: true }],
    ["GET", "/store/customers/me/orders", { bearer: true }],
    ["GET", `/store/orders/${orders.work1.id}`, {}],
    ["GET", `/store/orders/cart/cart_x`, {}],
    ["GET", `/store/orders?display_id=${orders.work1.display_id}&email=${orders.work1.email}`, {}],
  ];
  const graphqlOperations = [
    ["mutation ($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename } }", { ids: [orders.work1.id] }],
    ['mutation { verifyOrderClaim(token: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") { __typename } }', {}],
    ['mutation { logIn(email: "ann@example.com", password: "correct horse") { __typename } }', {}],
    ["{ me { id orders(first: 5) { totalCount } } }", {}],
    ['{ order(id: "order_w1") { id } }', {}],
  ] as const;

  it("answers every route 503 within a second (Medusa's body; GraphQL SERVICE_UNAVAILABLE), fails /ready, and recovers without a restart", async () => {
    await postgres.stop();
    try {
      for (const [method, path, options] of storeRoutes) {
        const started = Date.now();
        const response = await t.request(method, path, {
          body: options.body,
          bearer: options.bearer ? annToken : undefined,
        });
        expect({ path, status: response.status }).toEqual({ path, status: 503 });
        expect(Date.now() - started).toBeLessThan(1000);
        expect(response.json).toEqual({
          type: "database_error",
          code: "api_error",
          message: "The service is temporarily unavailable. Try again shortly.",
        });
        expect(response.headers.get("retry-after")).toBe("1");
      }
      for (const [query, variables] of graphqlOperations) {
        const started = Date.now();
        const response = await t.request("POST", "/graphql", { body: { query, variables }, bearer: annToken });
        expect({ query, status: response.status }).toEqual({ query, status: 503 });
        expect(Date.now() - started).toBeLessThan(1000);
        expect(response.json.errors).toEqual([
          expect.objectContaining({
            message: "The service is temporarily unavailable. Try again shortly.",
            extensions: { code: "SERVICE_UNAVAILABLE" },
          }),
        ]);
      }
      const ready = await t.request("GET", "/ready");
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({ status: "unavailable", checks: { database: "down", redis: "in-process" } });
      expect((await t.request("GET", "/health")).status).toBe(200);
    } finally {
      await postgres.start();
    }

    // Back: the same gateway serves again, and what failed before now works.
    await eventually(async () => ((await t.request("GET", "/ready")).status === 200 ? true : undefined));
    expect(
      (
        await t.request("POST", "/store/auth/token", {
          body: { email: customers.ann.email, password: customers.ann.password },
        })
      ).status,
    ).toBe(200);
    expect((await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } })).status).toBe(
      200,
    );
    const me = await t.graphql<{ me: { id: string } }>("{ me { id } }", {}, annToken);
    expect(me.data?.me.id).toBe(customers.ann.id);
  });
});
