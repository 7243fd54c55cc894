import { startTestGateway, type TestGateway } from "./support/gateway";

/**
 * The Store API refuses every key a route does not know, Object.prototype's names included
 * (`__proto__`, `constructor`, `toString`), as Medusa's whitelist validation does; none of them
 * reaches anything that could be polluted.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.close());

const registration = { email: "new@example.com", password: "pw", first_name: "N", last_name: "E" };

it.each([
  ["__proto__", '{"polluted":"yes"}'],
  ["constructor", '{"prototype":{"polluted":"yes"}}'],
  ["toString", '"x"'],
  ["hasOwnProperty", "1"],
])("refuses a body with %s like any unknown key, naming it", async (key, value) => {
  const body = `{"email":"ann@example.com","password":"x","${key}":${value}}`;
  for (const path of ["/store/auth", "/store/auth/token"]) {
    const response = await t.request("POST", path, { rawBody: body });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message: `property ${key} should not exist` });
  }
  const signUp = await t.request("POST", "/store/customers", {
    rawBody: JSON.stringify(registration).replace(/}$/, `,"${key}":${value}}`),
  });
  expect(signUp.status).toBe(400);
  expect(signUp.json.message).toBe(`property ${key} should not exist`);
  // Nothing was polluted in this process (the gateway runs in it), nor signed up.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(await t.prisma.customer.count({ where: { email: registration.email } })).toBe(0);
});

it("still takes a body with only known keys", async () => {
  const response = await t.request("POST", "/store/customers", { body: registration });
  expect(response.status).toBe(200);
});
