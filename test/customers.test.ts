import type { TestGateway } from "./support/gateway";
import { claimScenario, loginToken, useClaimFixture } from "./support/scenarios";

/** Registration and sign-in, through both doors: Medusa's `POST /store/customers` and GraphQL. */
const { customers, orders } = claimScenario;
const fixture = useClaimFixture();
let t: TestGateway;
beforeAll(() => ({ t } = fixture));
beforeEach(() => {
  fixture.mail.messages.length = 0;
});
beforeEach(async () => {
  await t.prisma.customer.deleteMany({ where: { email: { in: ["new@example.com", "race@example.com"] } } });
});

const REGISTER = "/store/customers";
const newcomer = { email: "New@Example.com ", password: "a long passphrase", first_name: "Nina", last_name: "Ng" };

describe("POST /store/customers", () => {
  it("registers a customer, never returning the password hash, who can then log in", async () => {
    const response = await t.request("POST", REGISTER, { body: { ...newcomer, phone: "+1 555 0100" } });
    expect(response.status).toBe(200);
    expect(response.json.customer).toMatchObject({
      email: "new@example.com",
      first_name: "Nina",
      last_name: "Ng",
      phone: "+1 555 0100",
      has_account: true,
    });
    expect(response.json.customer.id).toMatch(/^cus_/);
    expect(response.text).not.toContain("password");
    expect(await loginToken(t, "new@example.com", newcomer.password)).toEqual(expect.any(String));
  });

  it("refuses an email that already has an account with Medusa's 422 duplicate_error", async () => {
    const response = await t.request("POST", REGISTER, { body: { ...newcomer, email: "ANN@example.com" } });
    expect(response.status).toBe(422);
    expect(response.json).toEqual({
      type: "duplicate_error",
      code: "invalid_request_error",
      message: "A customer with the given email already has an account. Log in instead",
    });
  });

  it("lets a guest's email register; the guest's orders stay unclaimed", async () => {
    const response = await t.request("POST", REGISTER, { body: { ...newcomer, email: customers.workGuest.email } });
    expect(response.status).toBe(200);
    const registered = response.json.customer.id as string;
    expect(registered).not.toBe(customers.workGuest.id);
    const guestOrders = await t.prisma.order.findMany({
      where: { id: { in: [orders.work1.id, orders.work2.id] } },
      select: { customer_id: true },
    });
    expect(guestOrders.map((o) => o.customer_id)).toEqual([customers.workGuest.id, customers.workGuest.id]);
    const token = await loginToken(t, customers.workGuest.email, newcomer.password);
    const me = await t.graphql<{ me: { id: string; orders: { totalCount: number } } }>(
      "{ me { id orders(first: 5) { totalCount } } }",
      {},
      token,
    );
    expect(me.data!.me).toEqual({ id: registered, orders: { totalCount: 0 } });
    await t.prisma.customer.delete({ where: { id: registered } });
  });

  it("of ten simultaneous sign-ups with one email, exactly one succeeds", async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.request("POST", REGISTER, { body: { ...newcomer, email: "race@example.com" } }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(422)]);
    expect(await t.prisma.customer.count({ where: { email: "race@example.com" } })).toBe(1);
  });

  it.each([
    [
      "no body",
      undefined,
      "email must be an email, password must be a string, first_name must be a string, last_name must be a string",
    ],
    ["a bad email", { ...newcomer, email: "nina" }, "email must be an email"],
    ["an empty password", { ...newcomer, password: "" }, "password should not be empty"],
    ["a blank first name", { ...newcomer, first_name: "  " }, "first_name should not be empty"],
    ["a number as last name", { ...newcomer, last_name: 7 }, "last_name must be a string"],
    ["a NUL in a name", { ...newcomer, last_name: "N\u0000g" }, "last_name must not contain control characters"],
    ["a huge name", { ...newcomer, first_name: "x".repeat(5000) }, "first_name must be at most 200 characters"],
    ["an unknown property", { ...newcomer, admin: true }, "property admin should not exist"],
  ])("refuses %s with a 400 naming the field", async (_case, body, message) => {
    const response = await t.request("POST", REGISTER, { body });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message });
    expect(await t.prisma.customer.count({ where: { email: "new@example.com" } })).toBe(0);
  });

  it("keeps unicode names as given", async () => {
    const response = await t.request("POST", REGISTER, {
      body: { ...newcomer, first_name: "Zoë", last_name: "Ōtani 大谷" },
    });
    expect(response.json.customer).toMatchObject({ first_name: "Zoë", last_name: "Ōtani 大谷" });
  });
});

describe("GET /store/customers/me", () => {
  it("answers the signed-in customer (bearer or session cookie), without the password hash", async () => {
    const bearer = await loginToken(t, customers.ann.email, customers.ann.password!);
    const byToken = await t.request("GET", "/store/customers/me", { bearer });
    expect(byToken.status).toBe(200);
    expect(byToken.json.customer).toMatchObject({
      id: customers.ann.id,
      email: customers.ann.email,
      has_account: true,
    });
    expect(byToken.text).not.toContain("password");
    const login = await t.request("POST", "/store/auth", {
      body: { email: customers.ann.email, password: customers.ann.password },
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    expect((await t.request("GET", "/store/customers/me", { cookie })).json.customer.id).toBe(customers.ann.id);
  });

  it.each([
    ["no credentials", {}],
    ["a garbage token", { bearer: "garbage" }],
    ["an unknown session", { cookie: "connect.sid=nope" }],
  ])("answers 401 unauthorized for %s", async (_case, credentials) => {
    const response = await t.request("GET", "/store/customers/me", credentials);
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ type: "unauthorized", message: "Unauthorized" });
  });
});

describe("GET /store/customers/me/orders", () => {
  const LIST = "/store/customers/me/orders";
  let annToken: string;
  /** Ann claims and confirms her work orders: she then owns three. */
  beforeEach(async () => {
    annToken = await loginToken(t, customers.ann.email, customers.ann.password!);
    await t.request("POST", "/store/orders/batch/customer/token", {
      bearer: annToken,
      body: { order_ids: [orders.work1.id, orders.work2.id] },
    });
    const [message] = await fixture.mail.waitFor(1);
    expect(
      (await t.request("POST", "/store/orders/customer/confirm", { body: { token: message!.token } })).status,
    ).toBe(200);
  });

  it("lists the claimed orders with Medusa's shape: fields, items, address, customer, totals", async () => {
    const response = await t.request("GET", LIST, { bearer: annToken });
    expect(response.status).toBe(200);
    const { orders: listed, count, offset, limit } = response.json;
    expect({ count, offset, limit }).toEqual({ count: 3, offset: 0, limit: 10 });
    expect(listed.map((o: { id: string }) => o.id).sort()).toEqual(
      [orders.annOwn.id, orders.work1.id, orders.work2.id].sort(),
    );
    const times = listed.map((o: { created_at: string }) => Date.parse(o.created_at));
    expect(times).toEqual([...times].sort((a: number, b: number) => b - a));
    const work1 = listed.find((o: { id: string }) => o.id === orders.work1.id);
    expect(work1).toMatchObject({
      object: "order",
      display_id: 1001,
      status: "pending",
      fulfillment_status: "not_fulfilled",
      payment_status: "not_paid",
      customer_id: customers.ann.id,
      email: "ann.work@example.com",
      currency_code: "usd",
      subtotal: 3000,
      total: 3000,
      shipping_total: 0,
      items: [expect.objectContaining({ title: "Mug", unit_price: 1500, quantity: 2, subtotal: 3000, variant: null })],
      customer: expect.objectContaining({ id: customers.ann.id }),
      fulfillments: [],
      shipping_methods: [],
      discounts: [],
      payments: [],
      region: null,
    });
    expect(response.text).not.toContain("password_hash");
  });

  it.each([
    ["status[]=canceled", 0],
    ["status[]=pending", 3],
    ["status[0]=pending&status[1]=completed", 3],
    ["status=pending", 3],
  ])("filters by status: %s", async (query, expected) => {
    const response = await t.request("GET", `${LIST}?${query}`, { bearer: annToken });
    expect(response.status).toBe(200);
    expect(response.json.count).toBe(expected);
    expect(response.json.orders).toHaveLength(expected);
  });

  it.each([
    ["limit=1&offset=1", 1, 1, 1],
    ["offset=10", 0, 10, 10],
    ["limit=0", 0, 0, 0],
    ["limit=100", 3, 0, 100],
  ])("pages: %s", async (query, length, offset, limit) => {
    const response = await t.request("GET", `${LIST}?${query}`, { bearer: annToken });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ count: 3, offset, limit });
    expect(response.json.orders).toHaveLength(length);
  });

  it("pages through every order once", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 3; offset++) {
      seen.push(
        ...(await t.request("GET", `${LIST}?limit=1&offset=${offset}`, { bearer: annToken })).json.orders.map(
          (o: { id: string }) => o.id,
        ),
      );
    }
    expect(seen).toEqual(
      (await t.request("GET", LIST, { bearer: annToken })).json.orders.map((o: { id: string }) => o.id),
    );
  });

  it("projects with fields and expand as Medusa does", async () => {
    const replaced = (await t.request("GET", `${LIST}?fields=email&expand=items`, { bearer: annToken })).json.orders[0];
    expect(Object.keys(replaced).sort()).toEqual(["created_at", "email", "id", "items", "object"]);
    const added = (
      await t.request("GET", `${LIST}?fields=%2Bupdated_at,-tax_rate&expand=shipping_address`, { bearer: annToken })
    ).json.orders[0];
    expect(added).toHaveProperty("updated_at");
    expect(added).not.toHaveProperty("tax_rate");
    expect(added).toHaveProperty("subtotal");
    expect(added).not.toHaveProperty("items");
  });

  it.each([
    ["limit=101", "limit must not be greater than 100"],
    ["limit=-1", "limit must be an integer number"],
    ["offset=ten", "offset must be an integer number"],
    [
      "status[]=lost",
      "each value in status must be one of the following values: pending, completed, archived, canceled, requires_action",
    ],
    ["fields=password_hash,email", "Requested fields [password_hash] are not valid"],
    ["expand=cart,items", "Requested fields [cart] are not valid"],
    ["q=mug", "property q should not exist"],
  ])("refuses %s with a 400 naming it", async (query, message) => {
    const response = await t.request("GET", `${LIST}?${query}`, { bearer: annToken });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message });
  });

  it("shows each customer only their own orders, and nobody's without credentials", async () => {
    const bobs = await t.request("GET", LIST, {
      bearer: await loginToken(t, customers.bob.email, customers.bob.password!),
    });
    expect(bobs.json.orders.map((o: { id: string }) => o.id)).toEqual([orders.bobs.id]);
    const anonymous = await t.request("GET", LIST);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ type: "unauthorized", message: "Unauthorized" });
  });
});

describe("GraphQL registerCustomer and logIn", () => {
  const REGISTER_MUTATION = `mutation($input: RegisterCustomerInput!) {
    registerCustomer(input: $input) {
      __typename
      ... on SignedIn { token customer { id email firstName } }
      ... on Error { code message }
      ... on InvalidInputError { field }
    }
  }`;
  const LOG_IN = `mutation($email: String!, $password: String!) {
    logIn(email: $email, password: $password) { __typename ... on SignedIn { token customer { email } } ... on Error { code message } }
  }`;
  type Result<K extends string> = {
    [key in K]: {
      __typename: string;
      token?: string;
      customer?: { id: string; email: string };
      code?: string;
      message?: string;
      field?: string;
    };
  };
  const input = { email: "new@example.com", password: "a long passphrase", firstName: "Nina", lastName: "Ng" };

  it("registers and signs in with a token that works at once", async () => {
    const result = (await t.graphql<Result<"registerCustomer">>(REGISTER_MUTATION, { input })).data!.registerCustomer;
    expect(result).toMatchObject({ __typename: "SignedIn", customer: { email: "new@example.com", firstName: "Nina" } });
    const me = await t.graphql<{ me: { id: string } }>("{ me { id } }", {}, result.token);
    expect(me.data!.me.id).toBe(result.customer!.id);
  });

  it("answers a taken email and a bad field with typed errors", async () => {
    const taken = (
      await t.graphql<Result<"registerCustomer">>(REGISTER_MUTATION, {
        input: { ...input, email: customers.bob.email },
      })
    ).data!.registerCustomer;
    expect(taken).toEqual({
      __typename: "EmailTakenError",
      code: "EMAIL_TAKEN",
      message: "A customer with the given email already has an account. Log in instead",
    });
    const blank = (
      await t.graphql<Result<"registerCustomer">>(REGISTER_MUTATION, { input: { ...input, lastName: "" } })
    ).data!.registerCustomer;
    expect(blank).toEqual({
      __typename: "InvalidInputError",
      code: "INVALID_INPUT",
      field: "lastName",
      message: "lastName should not be empty",
    });
  });

  it("logs in, and refuses a wrong password, an unknown email and a NUL alike", async () => {
    const ok = (
      await t.graphql<Result<"logIn">>(LOG_IN, { email: customers.ann.email, password: customers.ann.password })
    ).data!.logIn;
    expect(ok).toMatchObject({ __typename: "SignedIn", customer: { email: customers.ann.email } });
    for (const [email, password] of [
      [customers.ann.email, "wrong"],
      ["nobody@example.com", "whatever"],
      ["ann\u0000@example.com", "whatever"],
      [customers.workGuest.email, ""],
    ]) {
      const refused = (await t.graphql<Result<"logIn">>(LOG_IN, { email, password })).data!.logIn;
      expect(refused).toEqual({
        __typename: "InvalidCredentialsError",
        code: "INVALID_CREDENTIALS",
        message: "The email or password is incorrect.",
      });
    }
  });
});
