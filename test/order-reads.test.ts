import type { TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";

/** Medusa's public order reads: guest lookup, by id, by cart id. */
const { orders } = claimScenario;
const fixture = useClaimFixture();
let t: TestGateway;
beforeAll(() => ({ t } = fixture));

describe("GET /store/orders (Look Up an Order)", () => {
  it("finds the order by number and email, the email in any case", async () => {
    for (const email of ["ann.work@example.com", "ANN.WORK@example.com", " Ann.Work@Example.com "]) {
      const response = await t.request("GET", `/store/orders?display_id=1001&email=${encodeURIComponent(email)}`);
      expect(response.status).toBe(200);
      expect(response.json.order).toMatchObject({
        id: orders.work1.id,
        display_id: 1001,
        subtotal: 3000,
        items: [expect.objectContaining({ title: "Mug" })],
      });
    }
  });

  it("accepts and ignores shipping_address[postal_code], as Medusa", async () => {
    const response = await t.request(
      "GET",
      "/store/orders?display_id=1001&email=ann.work@example.com&shipping_address[postal_code]=00000",
    );
    expect(response.status).toBe(200);
  });

  it.each([
    ["the wrong email", "display_id=1001&email=bob@example.com"],
    ["an unknown number", "display_id=999999&email=ann.work@example.com"],
  ])("answers 404 not_found for %s", async (_case, query) => {
    const response = await t.request("GET", `/store/orders?${query}`);
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ type: "not_found", message: "No order has this number and email." });
  });

  it.each([
    ["no email", "display_id=1001", "email must be an email"],
    [
      "no display_id",
      "email=ann.work@example.com",
      "display_id must be a number conforming to the specified constraints",
    ],
    ["neither", "", "display_id must be a number conforming to the specified constraints, email must be an email"],
    [
      "a word for display_id",
      "display_id=ten&email=ann.work@example.com",
      "display_id must be a number conforming to the specified constraints",
    ],
    [
      "a number beyond PostgreSQL's integers",
      "display_id=99999999999&email=ann.work@example.com",
      "display_id must be a number conforming to the specified constraints",
    ],
    ["pagination", "display_id=1001&email=ann.work@example.com&limit=5", "property limit should not exist"],
    [
      "a field Medusa does not allow here",
      "display_id=1001&email=ann.work@example.com&fields=metadata",
      "Requested fields [metadata] are not valid",
    ],
  ])("answers 400 naming the problem for %s", async (_case, query, message) => {
    const response = await t.request("GET", `/store/orders?${query}`);
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message });
  });
});

describe("GET /store/orders/:id and /store/orders/cart/:cart_id", () => {
  beforeEach(async () => {
    await t.prisma.order.update({ where: { id: orders.home.id }, data: { cart_id: "cart_home" } });
  });

  it("answers an order by id, projected by fields and expand", async () => {
    const full = await t.request("GET", `/store/orders/${orders.home.id}`);
    expect(full.status).toBe(200);
    expect(full.json.order).toMatchObject({
      id: orders.home.id,
      display_id: 1003,
      cart_id: "cart_home",
      subtotal: 1400,
      items: [expect.objectContaining({ quantity: 4 })],
    });
    const narrow = await t.request("GET", `/store/orders/${orders.home.id}?fields=display_id&expand=items`);
    expect(Object.keys(narrow.json.order).sort()).toEqual(["display_id", "id", "items", "object"]);
  });

  it("answers an order by its cart id", async () => {
    const response = await t.request("GET", "/store/orders/cart/cart_home");
    expect(response.status).toBe(200);
    expect(response.json.order.id).toBe(orders.home.id);
  });

  it.each([
    ["/store/orders/order_nope", "Order with id order_nope was not found"],
    ["/store/orders/order_%00nul", "Order with id order_nul was not found"],
    ["/store/orders/cart/cart_nope", "Order with cart id cart_nope was not found"],
    ["/store/orders/cart/%00", "Order with cart id  was not found"],
  ])("answers 404 for %s", async (path, message) => {
    const response = await t.request("GET", path);
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ type: "not_found", message });
  });

  it("answers 400 for an unknown relation", async () => {
    const response = await t.request("GET", `/store/orders/${orders.home.id}?expand=cart`);
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message: "Requested fields [cart] are not valid" });
  });
});
