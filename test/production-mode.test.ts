import { startTestGateway, type TestGateway } from "./support/gateway";

/** NODE_ENV=production: GraphiQL and introspection are off unless a setting turns them on; page cookies are Secure. */
const INTROSPECTION = "{ __schema { queryType { name } } }";
const TYPE_LOOKUP = '{ __type(name: "Order") { name } }';

async function graphiqlServed(t: TestGateway): Promise<boolean> {
  const response = await t.request("GET", "/graphql", { headers: { accept: "text/html" } });
  return response.status === 200 && /graphiql/i.test(response.text);
}

describe.each([
  ["production", { NODE_ENV: "production", PUBLIC_URL: "https://orders.shop.example" }, false, true],
  ["production with GRAPHIQL and GRAPHQL_INTROSPECTION on", { NODE_ENV: "production", PUBLIC_URL: "https://orders.shop.example", GRAPHIQL: "true", GRAPHQL_INTROSPECTION: "true" }, true, true],
  ["development", {}, true, false],
])("%s", (_name, env, open, secure) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(env);
  });
  afterAll(() => t?.close());

  it(`${open ? "serves" : "does not serve"} GraphiQL`, async () => {
    expect(await graphiqlServed(t)).toBe(open);
  });

  it(`${open ? "answers" : "refuses"} introspection`, async () => {
    for (const query of [INTROSPECTION, TYPE_LOOKUP]) {
      const result = await t.graphql<Record<string, unknown>>(query);
      if (open) expect(result.errors).toBeUndefined();
      else expect(result.errors?.[0]?.message).toMatch(/introspection/i);
    }
  });

  it(`gives the pages' form-token cookie ${secure ? "the __Host- prefix and Secure" : "no Secure flag (plain HTTP)"}`, async () => {
    const setCookie = (await t.request("GET", "/claim")).headers.get("set-cookie")!;
    if (secure) expect(setCookie).toMatch(/^__Host-ordergate\.form=[0-9a-f]+\.[0-9a-f]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    else expect(setCookie).toMatch(/^ordergate\.form=[0-9a-f]+\.[0-9a-f]+; Path=\/; HttpOnly; SameSite=Strict$/);
  });

  it("still answers ordinary queries", async () => {
    expect(await t.graphql("{ me { id } }")).toEqual({ data: { me: null } });
  });
});
