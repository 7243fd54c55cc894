import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../src/db/database";
import { ForeignDatabaseError } from "../src/db/migrate";
import { withPgClient } from "../src/db/pg-client";
import { createLogger } from "../src/lib/logger";
import { createEmptyDatabase, createTestDatabase } from "./support/database";
import { startTestGateway, TEST_JWT_SECRET, testConfig, type TestGateway } from "./support/gateway";
import { TestMedusa, describeWithMedusa } from "./support/medusa";
import { catalogSnapshot, pgDumpSchema } from "./support/schema-snapshot";
import { TestMailServer } from "./support/smtp";
import { subscribe } from "./support/subscriptions";
import { sleep } from "./support/wait";

const describeInMedusa = describeWithMedusa("the tests on a Medusa v1 database");

jest.setTimeout(120_000);

const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";

/** Medusa's schema as Medusa left it: every catalog fact, and pg_dump's text where the versions allow. */
const medusaSchema = async (url: string) => ({
  catalog: await catalogSnapshot(url, "public"),
  dump: await pgDumpSchema(url, "public"),
});

describeInMedusa("on a real Medusa v1 database, in front of Medusa", () => {
  let medusa: TestMedusa;
  let mail: TestMailServer;
  let t: TestGateway;
  let before: Awaited<ReturnType<typeof medusaSchema>>;
  let ann: { id: string; token: string };
  let guestOrders: { id: string; display_id: number; email: string }[];

  beforeAll(async () => {
    medusa = await (await TestMedusa.create(TEST_JWT_SECRET)).start();
    // A customer registered through Medusa, and orders placed as a guest through Medusa's checkout.
    ann = await medusa.registerCustomer("ann@example.com", "correct horse");
    guestOrders = [
      await medusa.placeGuestOrder("ann.work@example.com"),
      await medusa.placeGuestOrder("Ann.Work@example.com", { quantity: 3 }),
    ];
    before = await medusaSchema(medusa.databaseUrl);
    mail = await new TestMailServer().start();
    t = await startTestGateway({ DATABASE_URL: medusa.databaseUrl, MEDUSA_URL: medusa.url, SMTP_URL: mail.url });
  });
  afterAll(async () => {
    await t?.close();
    await mail?.stop();
    await medusa?.close();
  });

  it('keeps its own tables in the schema "ordergate" and loads no demo data into Medusa\'s', async () => {
    const tables = await withPgClient(medusa.databaseUrl, async (client) =>
      (
        await client.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'ordergate' ORDER BY 1`,
        )
      ).rows.map((row) => row.table_name),
    );
    expect(tables).toEqual([
      "_prisma_migrations",
      "customer_session",
      "order_claim",
      "order_claim_order",
      "outbox_event",
      "outbox_setting",
      "worker_lease",
    ]);
    // graphile-worker's queue in a schema of its own, migrated by graphile-worker itself.
    const workerMigrations = await withPgClient(
      medusa.databaseUrl,
      async (client) =>
        (await client.query(`SELECT count(*)::int AS count FROM "graphile_worker"."migrations"`)).rows[0].count,
    );
    expect(workerMigrations).toBeGreaterThan(0);
    expect(t.gateway.services.prisma).toBeDefined();
    expect(await t.prisma.customer.count({ where: { email: "ann@example.com" } })).toBe(1);
    expect(await t.prisma.order.count({ where: { id: { in: ["order_1001", "order_1005"] } } })).toBe(0);
  });

  it("takes Medusa's store JWT on REST, GraphQL and subscriptions, and Medusa takes ordergate's", async () => {
    // ordergate's own REST route (a claim for an order that does not exist: accepted, nothing happens).
    expect((await t.request("POST", CLAIM, { bearer: ann.token, body: { order_ids: ["order_unknown"] } })).status).toBe(
      200,
    );
    expect((await t.request("POST", CLAIM, { body: { order_ids: ["order_unknown"] } })).status).toBe(401);
    expect((await t.graphql<{ me: { id: string } }>("{ me { id } }", {}, ann.token)).data!.me.id).toBe(ann.id);
    for (const transport of ["sse", "ws"] as const) {
      const stream = await subscribe(transport, t.url, "subscription { orderClaimUpdated { id status } }", {
        bearer: ann.token,
      });
      expect(stream.status).toBe(transport === "sse" ? 200 : 101);
      // Accepted: no error, and still open a moment later (a refused token ends it at once: 401 / 4403).
      expect(await Promise.race([stream.ended.then(() => "ended"), sleep(300).then(() => "open")])).toBe("open");
      expect(stream.pending()).toEqual([]);
      await stream.close();
    }

    // Signed in through ordergate (the password Medusa hashed), asked of Medusa directly.
    const login = await t.request("POST", "/store/auth/token", {
      body: { email: "ann@example.com", password: "correct horse" },
    });
    expect(login.status).toBe(200);
    const medusaMe = await medusa.request("GET", "/store/customers/me", { bearer: login.json.access_token });
    expect(medusaMe.status).toBe(200);
    expect(medusaMe.json.customer.id).toBe(ann.id);
  });

  it("signs a storefront in on Medusa's routes too when it signed in with ordergate's session cookie", async () => {
    const login = await t.request("POST", "/store/auth", {
      body: { email: "ann@example.com", password: "correct horse" },
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    // POST /store/carts is Medusa's: a signed-in customer's new cart is theirs.
    const regionId = await medusa.regionId();
    const cart = await t.request("POST", "/store/carts", { cookie, body: { region_id: regionId } });
    expect(cart.status).toBe(200);
    expect(cart.json.cart.customer_id).toBe(ann.id);
    const anonymous = await t.request("POST", "/store/carts", { body: { region_id: await medusa.regionId() } });
    expect(anonymous.json.cart.customer_id).toBeNull();

    // Medusa sets its own connect.sid on every answer; on ordergate's origin that name is ordergate's
    // session, so a forwarded answer must not carry it (the storefront would be signed out).
    expect((await medusa.request("GET", "/store/products")).headers.get("set-cookie")).toMatch(/^connect\.sid=/);
    const products = await t.request("GET", "/store/products", { cookie });
    expect(products.status).toBe(200);
    expect(products.headers.get("set-cookie")).toBeNull();

    // The cookie's customer is the one Medusa sees, whatever bearer rides along.
    const bob = await medusa.registerCustomer("bob@example.com", "battery staple");
    const mixed = await t.request("POST", "/store/carts", {
      cookie,
      bearer: bob.token,
      body: { region_id: await medusa.regionId() },
    });
    expect(mixed.json.cart.customer_id).toBe(ann.id);
    expect(
      (await t.request("POST", "/store/carts", { bearer: bob.token, body: { region_id: await medusa.regionId() } }))
        .json.cart.customer_id,
    ).toBe(bob.id);

    // A client that asks before sending its body (Expect: 100-continue, as curl does for large ones).
    const expecting = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ region_id: regionId });
      const request = http.request(`${t.url}/store/carts`, {
        method: "POST",
        headers: {
          cookie,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          expect: "100-continue",
        },
      });
      request.on("continue", () => request.end(body));
      request.on("response", (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, body: text }));
      });
      request.on("error", reject);
    });
    expect(expecting.status).toBe(200);
    expect(JSON.parse(expecting.body).cart.customer_id).toBe(ann.id);
  });

  it("claims Medusa's guest orders, confirms from the email, and Medusa itself then lists them as the customer's", async () => {
    const claimed = await t.request("POST", CLAIM, {
      bearer: ann.token,
      body: { order_ids: guestOrders.map((order) => order.id) },
    });
    expect(claimed.status).toBe(200);
    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(["ann.work@example.com"]);
    expect(message!.text).toContain(`#${guestOrders[0]!.display_id}, #${guestOrders[1]!.display_id}`);
    expect((await t.request("POST", CONFIRM, { body: { token: message!.token } })).status).toBe(200);

    const listed = await medusa.request("GET", "/store/customers/me/orders", { bearer: ann.token });
    expect(listed.status).toBe(200);
    expect(listed.json.orders.map((order: { id: string }) => order.id).sort()).toEqual(
      guestOrders.map((order) => order.id).sort(),
    );
    // Only customer_id moved: the orders keep the email they were placed under (CLAIM_REPLACE_ORDER_EMAIL is off).
    expect(listed.json.orders.map((order: { email: string }) => order.email)).toEqual(
      guestOrders.map(() => "ann.work@example.com"),
    );
  });

  it("leaves the customer and order reads to Medusa, which computes its totals (shipping included)", async () => {
    for (const route of [
      "/store/customers/me/orders",
      "/store/customers/me",
      "/store/auth",
      `/store/orders/${guestOrders[0]!.id}`,
    ]) {
      const [direct, forwarded] = [
        await medusa.request("GET", route, { bearer: ann.token }),
        await t.request("GET", route, { bearer: ann.token }),
      ];
      expect(forwarded.status).toBe(200);
      expect(forwarded.json).toEqual(direct.json);
    }
    const orders = (await t.request("GET", "/store/customers/me/orders", { bearer: ann.token })).json.orders;
    expect(orders[0].shipping_total).toBe(1000);
    expect(orders[0].total).toBe(orders[0].subtotal + 1000);
    // Signed in with ordergate's cookie, Medusa's GET /store/auth knows the customer too.
    const login = await t.request("POST", "/store/auth", {
      body: { email: "ann@example.com", password: "correct horse" },
    });
    const session = await t.request("GET", "/store/auth", { cookie: login.headers.get("set-cookie")!.split(";")[0]! });
    expect(session.status).toBe(200);
    expect(session.json.customer).toMatchObject({ id: ann.id, shipping_addresses: [] });
  });

  it("shows Medusa's orders in GraphQL as Medusa computes them", async () => {
    const medusaOrders = (await medusa.request("GET", "/store/customers/me/orders", { bearer: ann.token })).json
      .orders as {
      id: string;
      display_id: number;
      currency_code: string;
      subtotal: number;
      items: { title: string; quantity: number; unit_price: number; subtotal: number }[];
      shipping_address: { city: string; country_code: string };
    }[];
    expect(medusaOrders).toHaveLength(2);
    const result = await t.graphql<{ me: { orders: { edges: { node: Record<string, any> }[] } } }>( // eslint-disable-line @typescript-eslint/no-explicit-any
      "{ me { orders(first: 10) { edges { node { id displayId currencyCode subtotal items { title quantity unitPrice total } shippingAddress { city countryCode } } } } } }",
      {},
      ann.token,
    );
    const ours = new Map(result.data!.me.orders.edges.map(({ node }) => [node.id, node]));
    for (const order of medusaOrders) {
      const node = ours.get(order.id)!;
      expect(node).toMatchObject({
        displayId: order.display_id,
        currencyCode: order.currency_code,
        subtotal: order.subtotal,
      });
      expect(node.items).toEqual(
        order.items.map((item) => ({
          title: item.title,
          quantity: item.quantity,
          unitPrice: item.unit_price,
          total: item.subtotal,
        })),
      );
      expect(node.shippingAddress).toEqual({
        city: order.shipping_address.city,
        countryCode: order.shipping_address.country_code,
      });
    }
    const lookup = await t.graphql<{ orderLookup: { id: string } | null }>(
      "query($d: Int!, $e: String!) { orderLookup(displayId: $d, email: $e) { id } }",
      {
        d: guestOrders[0]!.display_id,
        e: "ann.work@example.com",
      },
    );
    expect(lookup.data!.orderLookup).toEqual({ id: guestOrders[0]!.id });
  });

  it("keeps claiming while Medusa is stopped (its routes answer 502)", async () => {
    const another = await medusa.placeGuestOrder("ann.home@example.net");
    await medusa.stop();
    try {
      expect((await t.request("GET", "/store/products")).status).toBe(502);
      mail.messages.length = 0;
      expect((await t.request("POST", CLAIM, { bearer: ann.token, body: { order_ids: [another.id] } })).status).toBe(
        200,
      );
      const [message] = await mail.waitFor(1);
      expect((await t.request("POST", CONFIRM, { body: { token: message!.token } })).status).toBe(200);
      expect((await t.prisma.order.findUniqueOrThrow({ where: { id: another.id } })).customer_id).toBe(ann.id);
    } finally {
      await medusa.start();
    }
  });

  it("builds ordergate's own objects as its own database has them, less the foreign keys into Medusa's tables", async () => {
    const standalone = await createTestDatabase();
    try {
      // What differs by design: where the migration history is kept, and keys into the mirrored
      // tables; foreign keys' internal triggers are named by object ids (the keys are compared).
      const comparable = (snapshot: string) =>
        snapshot
          .split("\n")
          .filter(
            (line) =>
              !line.includes("_prisma_migrations") &&
              !/FOREIGN KEY .* REFERENCES (?!ordergate\.)/.test(line) &&
              !line.includes('"tgisinternal":true'),
          )
          .join("\n");
      const own = comparable(await catalogSnapshot(medusa.databaseUrl, "ordergate"));
      expect(own).toBe(comparable(await catalogSnapshot(standalone.url, "ordergate")));
      expect(own).toContain("open_order_claims");
      expect(own).toContain("outbox_event_queue");
    } finally {
      await standalone.drop();
    }
  });

  it("leaves Medusa's schema exactly as it was, after starting, claiming and stopping", async () => {
    await t.close();
    const after = await medusaSchema(medusa.databaseUrl);
    expect(after.catalog).toBe(before.catalog);
    expect(after.dump).toBe(before.dump);
    if (before.dump === undefined)
      console.warn("pg_dump of this server's version is not installed: compared the catalogs only");
    // Started again, it finds its own history there and applies nothing.
    t = await startTestGateway({ DATABASE_URL: medusa.databaseUrl, MEDUSA_URL: medusa.url, SMTP_URL: mail.url });
    expect((await medusaSchema(medusa.databaseUrl)).catalog).toBe(before.catalog);
  });
});

describe("a database that is neither empty, nor ordergate's, nor Medusa's", () => {
  it("is refused at start with a message that names what it holds, and nothing is written to it", async () => {
    const database = await createEmptyDatabase("foreign_test");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-foreign-"));
    try {
      await withPgClient(database.url, (client) =>
        client.query(
          `CREATE TABLE users (id serial PRIMARY KEY, name text); CREATE TABLE posts (id serial PRIMARY KEY)`,
        ),
      );
      const snapshot = async () =>
        `${await catalogSnapshot(database.url, "public")}\n${await catalogSnapshot(database.url, "ordergate")}`;
      const before = await snapshot();
      const opening = openDatabase(testConfig(database.url, dataDir), createLogger("silent"));
      await expect(opening).rejects.toThrow(ForeignDatabaseError);
      await expect(opening).rejects.toThrow(
        /neither empty, nor ordergate's, nor a Medusa v1 store's \(it holds public\.posts, public\.users\)/,
      );
      expect(await snapshot()).toBe(before);
      const schemas = await withPgClient(
        database.url,
        async (client) =>
          (await client.query(`SELECT 1 FROM pg_namespace WHERE nspname IN ('ordergate', 'graphile_worker')`)).rowCount,
      );
      expect(schemas).toBe(0);
    } finally {
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
