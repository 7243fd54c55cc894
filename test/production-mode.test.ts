import type { ExecutionResult, GraphQLFormattedError } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
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
  [
    "production with GRAPHIQL and GRAPHQL_INTROSPECTION on",
    {
      NODE_ENV: "production",
      PUBLIC_URL: "https://orders.shop.example",
      GRAPHIQL: "true",
      GRAPHQL_INTROSPECTION: "true",
    },
    true,
    true,
  ],
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
    if (secure)
      expect(setCookie).toMatch(
        /^__Host-ordergate\.form=[0-9a-f]+\.[0-9a-f]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
      );
    else expect(setCookie).toMatch(/^ordergate\.form=[0-9a-f]+\.[0-9a-f]+; Path=\/; HttpOnly; SameSite=Strict$/);
  });

  it("still answers ordinary queries", async () => {
    expect(await t.graphql("{ me { id } }")).toEqual({ data: { me: null } });
  });

  it(`${open ? "answers" : "refuses"} introspection over WebSocket too, signed out`, async () => {
    const answer = await overWebSocket(t, "{ __schema { types { name } } }");
    if (open) expect(answer.data?.__schema).toBeDefined();
    else {
      expect(answer.data).toBeUndefined();
      expect(answer.errors?.length).toBeGreaterThan(0);
      for (const error of answer.errors!) expect(error.message).toMatch(/^GraphQL introspection has been disabled/);
    }
  });

  // Misspelt names on each side: a field, an argument, a type, an enum value, an input field in a variable.
  it.each([
    ["a field", "{ me { emial } }", undefined],
    ["an argument", '{ orderLookup(displayID: 1001, email: "a@example.com") { id } }', undefined],
    ["a type", "query ($ids: [Strnig!]!) { __typename }", undefined],
    [
      "an input field in the variables",
      "mutation ($input: RegisterCustomerInput!) { registerCustomer(input: $input) { __typename } }",
      { input: { emial: "x@example.com", password: "pw", firstName: "A", lastName: "B" } },
    ],
  ])(
    `${open ? "suggests" : "does not suggest"} names for ${"%s"} over HTTP and WebSocket`,
    async (_what, query, variables) => {
      const http = await t.request("POST", "/graphql", { body: { query, variables } });
      const ws = await overWebSocket(t, query, variables);
      for (const errors of [http.json.errors, ws.errors] as GraphQLFormattedError[][]) {
        expect(errors.length).toBeGreaterThan(0);
        const messages = errors.map((error) => error.message).join("\n");
        if (open) expect(messages).toMatch(/Did you mean/);
        else expect(messages).not.toMatch(/Did you mean/);
      }
    },
  );
});

/** One operation over graphql-ws, signed out: its result, or the errors it was refused with. */
async function overWebSocket(
  t: TestGateway,
  query: string,
  variables?: Record<string, unknown>,
): Promise<ExecutionResult<any>> {
  const client = createClient({
    url: `${t.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  try {
    return await new Promise<ExecutionResult>((resolve, reject) => {
      let result: ExecutionResult | undefined;
      client.subscribe(
        { query, variables },
        {
          next: (value) => (result = value as ExecutionResult),
          error: (error) =>
            Array.isArray(error)
              ? resolve({ errors: error })
              : reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => (result ? resolve(result) : reject(new Error("completed without a result"))),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}
