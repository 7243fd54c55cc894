import type { z } from "zod";
import { createLogger } from "../src/lib/logger";
import { storeApi } from "../src/rest";
import { documentedResponse, EXTENSION_TAG, OPERATIONS } from "../src/rest/openapi";
import type { TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";

/** `/openapi.json` documents every Store route, and each route answers as documented. */
const { customers, orders } = claimScenario;
/** ordergate's own routes (Medusa v1 has none like them): marked as extensions in the document. */
const EXTENSIONS = [
  "delete /store/customers/me/order-claims/{id}",
  "get /store/customers/me/order-claims",
  "post /store/customers/me/order-claims",
  "post /store/orders/customer/decline",
];
const fixture = useClaimFixture();
let t: TestGateway;
let annToken: string;
beforeAll(() => ({ t, annToken } = fixture));

type RouteLayer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: RouteLayer[] } };

/** The routes the Express Store router really has, as `method /store/path/{param}`. */
function expressRoutes(): string[] {
  const router = storeApi(
    {} as never,
    {} as never,
    { secureCookies: false, clientAddress: () => "", sessionSites: { storeCors: [], publicUrl: undefined } },
    createLogger("silent"),
  ) as unknown as { stack: RouteLayer[] };
  const walk = (stack: RouteLayer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map(
            (method) => `${method} /store${layer.route!.path.replace(/:(\w+)/g, "{$1}")}`,
          )
        : layer.handle?.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk(router.stack).sort();
}

it("documents every Store route with Medusa's operationId, and nothing else", async () => {
  const response = await t.request("GET", "/openapi.json");
  expect(response.status).toBe(200);
  const doc = response.json;
  expect(doc.openapi).toBe("3.1.0");
  const documented = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>)
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`))
    .sort();
  expect(documented).toEqual(expressRoutes());
  expect(doc.paths["/store/orders/batch/customer/token"].post.operationId).toBe("PostOrdersCustomerOrderClaim");
  expect(doc.paths["/store/orders/customer/confirm"].post.operationId).toBe(
    "PostOrdersCustomerOrderClaimsCustomerOrderClaimAccept",
  );
  expect(doc.paths["/store/customers/me/orders"].get.parameters.map((p: { name: string }) => p.name)).toEqual([
    "limit",
    "offset",
    "status",
    "fields",
    "expand",
  ]);
  expect(
    doc.paths["/store/orders/batch/customer/token"].post.requestBody.content["application/json"].schema.properties
      .order_ids.type,
  ).toBe("array");
});

it("marks ordergate's own routes as extensions, and only those", async () => {
  type Documented = { tags?: string[]; description?: string; "x-ordergate-extension"?: boolean };
  const doc = (await t.request("GET", "/openapi.json")).json;
  const operations = Object.entries(doc.paths as Record<string, Record<string, Documented>>).flatMap(
    ([path, methods]) => Object.entries(methods).map(([method, op]) => ({ route: `${method} ${path}`, op })),
  );
  expect(operations.filter(({ op }) => op["x-ordergate-extension"] === true).map(({ route }) => route)).toEqual(
    expect.arrayContaining(EXTENSIONS),
  );
  for (const { route, op } of operations) {
    const extension = EXTENSIONS.includes(route);
    expect({ route, marked: op["x-ordergate-extension"] === true }).toEqual({ route, marked: extension });
    expect({ route, tagged: op.tags?.includes(EXTENSION_TAG) ?? false }).toEqual({ route, tagged: extension });
    if (extension) expect(op.description).toMatch(/^Not in Medusa v1: ordergate's own route\. \S/);
  }
  expect(doc.tags).toEqual([expect.objectContaining({ name: EXTENSION_TAG })]);
  const claims = doc.paths["/store/customers/me/order-claims"];
  expect(claims.post.requestBody.content["application/json"].schema).toMatchObject({
    properties: { email: { type: "string" } },
    required: ["email"],
  });
  expect(claims.get.parameters.map((p: { name: string }) => p.name)).toEqual(["limit", "offset", "status"]);
  expect(claims.get.responses["200"].content["application/json"].schema.properties.order_claims.type).toBe("array");
  const decline = doc.paths["/store/orders/customer/decline"].post;
  expect(decline.security).toEqual([]);
  expect(decline.requestBody.content["application/json"].schema).toMatchObject({
    properties: { token: { type: "string" } },
    required: ["token"],
  });
  expect(doc.paths["/store/customers/me/order-claims/{id}"].delete.parameters).toEqual([
    expect.objectContaining({ name: "id", in: "path", required: true }),
  ]);
  // Rate-limited routes say so, with the Retry-After header.
  expect(claims.post.responses["429"].headers["Retry-After"]).toBeDefined();
});

describe("each route answers as documented", () => {
  /** Sends the request and checks the body against the schema documented for the status it got. */
  async function check(
    method: "get" | "post" | "delete",
    path: string,
    url: string,
    options: Parameters<TestGateway["request"]>[2],
    status: number,
  ) {
    const response = await t.request(method.toUpperCase(), url, options);
    expect(response.status).toBe(status);
    const schema = documentedResponse(method, path, status) as z.ZodType | undefined;
    expect(schema).toBeDefined();
    const parsed = schema!.safeParse(response.json);
    if (!parsed.success)
      throw new Error(`${method} ${url} ${status}: ${JSON.stringify(parsed.error.issues)}\n${response.text}`);
  }

  it("answers its documented 200s", async () => {
    const session = (
      await t.request("POST", "/store/auth", { body: { email: customers.ann.email, password: customers.ann.password } })
    ).headers
      .get("set-cookie")!
      .split(";")[0]!;
    await t.prisma.order.update({ where: { id: orders.home.id }, data: { cart_id: "cart_doc" } });
    await check(
      "post",
      "/store/auth",
      "/store/auth",
      { body: { email: customers.ann.email, password: customers.ann.password } },
      200,
    );
    await check(
      "post",
      "/store/auth/token",
      "/store/auth/token",
      { body: { email: customers.ann.email, password: customers.ann.password } },
      200,
    );
    await check("get", "/store/auth", "/store/auth", { cookie: session }, 200);
    await check("get", "/store/auth/{email}", `/store/auth/${customers.ann.email}`, {}, 200);
    await check("get", "/store/customers/me", "/store/customers/me", { bearer: annToken }, 200);
    await check("get", "/store/customers/me/orders", "/store/customers/me/orders", { bearer: annToken }, 200);
    await check(
      "get",
      "/store/customers/me/orders",
      "/store/customers/me/orders?fields=email&expand=items",
      { bearer: annToken },
      200,
    );
    await check("get", "/store/orders", "/store/orders?display_id=1003&email=ann.home@example.net", {}, 200);
    await check("get", "/store/orders/{id}", `/store/orders/${orders.home.id}`, {}, 200);
    await check("get", "/store/orders/cart/{cart_id}", "/store/orders/cart/cart_doc", {}, 200);
    await check(
      "post",
      "/store/orders/batch/customer/token",
      "/store/orders/batch/customer/token",
      { bearer: annToken, body: { order_ids: [orders.home.id] } },
      200,
    );
    const [message] = await fixture.mail.waitFor(1);
    await check(
      "post",
      "/store/orders/customer/confirm",
      "/store/orders/customer/confirm",
      { body: { token: message!.token } },
      200,
    );
    await check(
      "post",
      "/store/customers",
      "/store/customers",
      { body: { email: "doc@example.com", password: "a long passphrase", first_name: "D", last_name: "Oc" } },
      200,
    );
    // ordergate's own: claim by email (one with orders, declined; one without, canceled), the list.
    await check(
      "post",
      "/store/customers/me/order-claims",
      "/store/customers/me/order-claims",
      { bearer: annToken, body: { email: "ANN.WORK@example.com " } },
      200,
    );
    const byEmail = (await fixture.mail.waitFor(2)).find((mail) => mail.to.includes("ann.work@example.com"));
    await check(
      "post",
      "/store/orders/customer/decline",
      "/store/orders/customer/decline",
      { body: { token: byEmail!.token } },
      200,
    );
    await check(
      "post",
      "/store/customers/me/order-claims",
      "/store/customers/me/order-claims",
      { bearer: annToken, body: { email: "nobody@example.org" } },
      200,
    );
    await check(
      "get",
      "/store/customers/me/order-claims",
      "/store/customers/me/order-claims",
      { bearer: annToken },
      200,
    );
    const pending = await t.request("GET", "/store/customers/me/order-claims?status[]=pending", { bearer: annToken });
    expect(pending.json.order_claims).toEqual([
      expect.objectContaining({ status: "pending", by_email: true, order_count: null, order_ids: [] }),
    ]);
    const pendingId: string = pending.json.order_claims[0].id;
    await check(
      "delete",
      "/store/customers/me/order-claims/{id}",
      `/store/customers/me/order-claims/${pendingId}`,
      { bearer: annToken },
      200,
    );
    const statuses = await t.request("GET", "/store/customers/me/order-claims", { bearer: annToken });
    expect(statuses.json.order_claims.map((claim: { status: string }) => claim.status)).toEqual([
      "canceled",
      "declined",
      "verified",
    ]);
    await check("delete", "/store/auth", "/store/auth", { cookie: session }, 200);
    await t.prisma.customer.deleteMany({ where: { email: "doc@example.com" } });
  });

  it("answers its documented errors", async () => {
    await check(
      "post",
      "/store/orders/batch/customer/token",
      "/store/orders/batch/customer/token",
      { body: { order_ids: [] } },
      401,
    );
    await check(
      "post",
      "/store/orders/batch/customer/token",
      "/store/orders/batch/customer/token",
      { bearer: annToken, body: { order_ids: [] } },
      400,
    );
    await check(
      "post",
      "/store/orders/customer/confirm",
      "/store/orders/customer/confirm",
      { body: { token: "nope" } },
      400,
    );
    await check("get", "/store/orders", "/store/orders?display_id=1003&email=x@example.net", {}, 404);
    await check("get", "/store/orders", "/store/orders", {}, 400);
    await check("get", "/store/orders/{id}", "/store/orders/order_nope", {}, 404);
    await check("get", "/store/orders/{id}", `/store/orders/${orders.home.id}?expand=cart`, {}, 400);
    await check("get", "/store/orders/cart/{cart_id}", "/store/orders/cart/cart_nope", {}, 404);
    await check("post", "/store/customers", "/store/customers", { body: {} }, 400);
    await check(
      "post",
      "/store/customers",
      "/store/customers",
      { body: { email: customers.bob.email, password: "x", first_name: "B", last_name: "B" } },
      422,
    );
    await check("get", "/store/customers/me", "/store/customers/me", {}, 401);
    await check("get", "/store/customers/me/orders", "/store/customers/me/orders", {}, 401);
    await check(
      "get",
      "/store/customers/me/orders",
      "/store/customers/me/orders?limit=1000",
      { bearer: annToken },
      400,
    );
    await check("post", "/store/auth", "/store/auth", { body: { email: customers.ann.email, password: "wrong" } }, 401);
    await check("post", "/store/auth/token", "/store/auth/token", { body: {} }, 400);
    await check("get", "/store/auth", "/store/auth", {}, 401);
    const claims = "/store/customers/me/order-claims";
    await check("post", claims, claims, { body: { email: "ann.work@example.com" } }, 401);
    await check("post", claims, claims, { bearer: annToken, body: { email: "not an email" } }, 400);
    await check("get", claims, claims, {}, 401);
    await check("get", claims, `${claims}?limit=1000`, { bearer: annToken }, 400);
    await check("get", claims, `${claims}?status[]=open`, { bearer: annToken }, 400);
    await check("post", "/store/orders/customer/decline", "/store/orders/customer/decline", { body: {} }, 400);
    await check(
      "post",
      "/store/orders/customer/decline",
      "/store/orders/customer/decline",
      { body: { token: "nope" } },
      400,
    );
    const claimPath = "/store/customers/me/order-claims/{id}";
    await check("delete", claimPath, `${claims}/oclaim_nope`, {}, 401);
    await check("delete", claimPath, `${claims}/oclaim_nope`, { bearer: annToken }, 404);
    // A verified claim can no longer be canceled.
    await t.request("POST", "/store/orders/batch/customer/token", {
      bearer: annToken,
      body: { order_ids: [orders.home.id] },
    });
    const [message] = await fixture.mail.waitFor(1);
    expect(
      (await t.request("POST", "/store/orders/customer/confirm", { body: { token: message!.token } })).status,
    ).toBe(200);
    const [verified] = (await t.request("GET", claims, { bearer: annToken })).json.order_claims;
    await check("delete", claimPath, `${claims}/${verified.id}`, { bearer: annToken }, 400);
  });

  it("documents a 200 for every operation", () => {
    for (const op of OPERATIONS) expect(op.responses[200]).toBeDefined();
  });
});
