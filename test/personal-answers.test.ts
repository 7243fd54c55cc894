import { claimScenario, useClaimFixture } from "./support/scenarios";

/**
 * Answers that depend on who asks (bearer or session cookie) carry `Cache-Control: no-store` and
 * `Vary: Authorization, Cookie`, so no cache keeps one caller's answer or hands it to another.
 */
const { customers } = claimScenario;
const fixture = useClaimFixture();

async function sessionCookie(): Promise<string> {
  const signedIn = await fixture.t.request("POST", "/store/auth", {
    body: { email: customers.ann.email, password: customers.ann.password },
  });
  expect(signedIn.status).toBe(200);
  return signedIn.headers.get("set-cookie")!.split(";")[0]!;
}

function expectPersonal(headers: Headers) {
  expect(headers.get("cache-control")).toBe("no-store");
  const vary = (headers.get("vary") ?? "").split(",").map((field) => field.trim().toLowerCase());
  expect(vary).toEqual(expect.arrayContaining(["authorization", "cookie"]));
}

it.each(["/store/auth", "/store/customers/me", "/store/customers/me/orders"])(
  "GET %s, by bearer, by session cookie and signed out (401)",
  async (path) => {
    const { t, annToken } = fixture;
    const byBearer = await t.request("GET", path, { bearer: annToken });
    const bySession = await t.request("GET", path, { cookie: await sessionCookie() });
    const signedOut = await t.request("GET", path);
    expect([byBearer.status, bySession.status, signedOut.status]).toEqual([200, 200, 401]);
    for (const response of [byBearer, bySession, signedOut]) expectPersonal(response.headers);
  },
);

it("every /graphql answer: POST, GET, signed in or out, and errors", async () => {
  const { t, annToken } = fixture;
  const answers = [
    await t.request("POST", "/graphql", { bearer: annToken, body: { query: "{ me { id } }" } }),
    await t.request("POST", "/graphql", { cookie: await sessionCookie(), body: { query: "{ me { id } }" } }),
    await t.request("POST", "/graphql", { body: { query: "{ me { id } }" } }),
    await t.request("GET", "/graphql?query=%7B__typename%7D", { headers: { "x-graphql-yoga-csrf": "1" } }),
    await t.request("POST", "/graphql", { body: { query: "{ nope }" } }), // an invalid operation: 200 for application/json
  ];
  expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
  expect(answers[0]!.json).toEqual({ data: { me: { id: customers.ann.id } } });
  for (const answer of answers) expectPersonal(answer.headers);
});

it("leaves public answers cacheable", async () => {
  const health = await fixture.t.request("GET", "/health");
  expect(health.headers.get("cache-control")).toBeNull();
});
