import { gzipSync } from "node:zlib";
import { CSRF_HEADER, OPERATION_LIMITS } from "../src/graphql/yoga";
import { logEntries, startTestGateway, type TestGateway } from "./support/gateway";
import { rawRequest } from "./support/raw-http";
import { storeTokenFor } from "./support/scenarios";

/**
 * Hostile and malformed requests through both doors: each gets a 4xx that names the problem,
 * quickly, and never a 5xx or a hang (README "Limits").
 */
let t: TestGateway;
let host: string;
beforeAll(async () => {
  t = await startTestGateway({ REQUEST_TIMEOUT: "1s" });
  host = new URL(t.url).host;
});
afterAll(() => t?.close());

const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const MB = 1024 * 1024;
const customerId = "cus_nobody";

const post = (path: string, headers: Record<string, string | number>) =>
  [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n");

describe("request bodies", () => {
  it.each([
    [
      "/store (Medusa's 413)",
      CLAIM,
      100 * 1024,
      (body: any) =>
        expect(body).toEqual({ type: "invalid_data", message: "The request body is larger than 102400 bytes." }),
    ],
    [
      "/graphql (a GraphQL error)",
      "/graphql",
      MB,
      (body: any) => expect(body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE"),
    ],
    ["any other route", "/health", MB, (body: any) => expect(body.message).toMatch(/larger than 1048576 bytes/)],
  ])(
    "a declared length over the limit on %s is refused at once, without waiting for the body",
    async (_name, path, limit, check) => {
      // 10 bytes of a body that claims to be one byte over the limit, then silence.
      const response = await rawRequest(
        t.url,
        post(path, { "Content-Type": "application/json", "Content-Length": limit + 1 }),
        '{"token":"',
      );
      expect(response.status).toBe(413);
      expect(response.elapsedMs).toBeLessThan(900);
      expect(response.headers.connection).toBe("close");
      check(JSON.parse(response.body));
    },
  );

  it("caps /graphql bodies of every content type, sent without a length too", async () => {
    // The report: a 5.9 MB application/graphql query of 300,000 aliases ran. Now it never reaches the parser.
    const query = `{ ${Array.from({ length: 300_000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    for (const contentType of ["application/graphql", "application/json", "text/plain"]) {
      const response = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": contentType, [CSRF_HEADER]: "1" },
        // A stream: sent chunked, with no Content-Length to refuse up front.
        body: new Blob([query]).stream(),
        duplex: "half",
      } as RequestInit);
      expect(response.status).toBe(413);
      expect((await response.json()).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("answers a body that stops arriving with 408 after REQUEST_TIMEOUT, on both doors", async () => {
    for (const path of [CONFIRM, "/graphql"]) {
      const response = await rawRequest(
        t.url,
        post(path, { "Content-Type": "application/json", "Content-Length": 100 }),
        '{"tok',
        { timeoutMs: 5000 },
      );
      expect(response.status).toBe(408);
      expect(response.elapsedMs).toBeLessThan(3000);
    }
  });

  it("answers a body longer than its declared length with a 400 and closes the connection", async () => {
    // Content-Length 5 for a longer body: the bytes after the fifth are a malformed next request.
    const response = await rawRequest(
      t.url,
      post(CONFIRM, { "Content-Type": "application/json", "Content-Length": 5 }),
      '{"token":"abc"}',
    );
    expect(response.status).toBe(400);
    expect(response.headers.connection).toBe("close");
    expect((await t.request("GET", "/health")).status).toBe(200);
  });

  it.each([
    ["gzip", "not gzip at all"],
    ["deflate", "not deflate either"],
  ])("refuses a body whose Content-Encoding (%s) does not match its bytes with a 400", async (encoding, bytes) => {
    const store = await rawRequest(
      t.url,
      post(CONFIRM, {
        "Content-Type": "application/json",
        "Content-Encoding": encoding,
        "Content-Length": bytes.length,
      }),
      bytes,
    );
    expect(store.status).toBe(400);
    expect(JSON.parse(store.body).type).toBe("invalid_data");
    const graphql = await rawRequest(
      t.url,
      post("/graphql", {
        "Content-Type": "application/json",
        "Content-Encoding": encoding,
        "Content-Length": bytes.length,
      }),
      bytes,
    );
    expect(graphql.status).toBe(400);
    expect(JSON.parse(graphql.body).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("refuses an unknown Content-Encoding with a 415 and decodes a real gzip body", async () => {
    const store = await rawRequest(
      t.url,
      post(CONFIRM, { "Content-Type": "application/json", "Content-Encoding": "compress", "Content-Length": 2 }),
      "{}",
    );
    expect(store.status).toBe(415);
    expect(JSON.parse(store.body).message).toMatch(/Content-Encoding is not supported/);

    const gzipped = gzipSync(JSON.stringify({ query: "{ __typename }" }));
    const graphql = await rawRequest(
      t.url,
      post("/graphql", {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Content-Length": gzipped.length,
      }),
      gzipped,
    );
    expect(graphql.status).toBe(200);
    expect(JSON.parse(graphql.body)).toEqual({ data: { __typename: "Query" } });
  });

  it("refuses a body that is not UTF-8 JSON with a 415 naming the charset", async () => {
    const response = await t.request("POST", CONFIRM, {
      rawBody: '{"token":"x"}',
      headers: { "content-type": "application/json; charset=latin-9" },
    });
    expect(response.status).toBe(415);
    expect(response.json.type).toBe("invalid_data");
  });
});

describe("URLs and headers", () => {
  it.each(["/store/orders/%E0%A4%A", "/store/auth/%ZZ", "/store/orders/cart/%"])(
    "answers a broken percent-encoding (%s) with a 400 in Medusa's shape",
    async (path) => {
      const response = await t.request("GET", path);
      expect(response.status).toBe(400);
      expect(response.json.type).toBe("invalid_data");
      expect(response.json.message).toMatch(/decode/i);
    },
  );

  it("answers an unknown route outside /store with a JSON 404", async () => {
    const response = await t.request("GET", "/nothing-here");
    expect(response.status).toBe(404);
    expect(response.json.message).toBe("Route GET /nothing-here was not found");
  });

  it("refuses headers over 16 kB with a 431", async () => {
    const response = await rawRequest(
      t.url,
      `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Filler: ${"a".repeat(20_000)}`,
    );
    expect(response.status).toBe(431);
  });

  it("treats a bearer token of unicode, huge or garbage text as signed out, the same on both doors", async () => {
    for (const bearer of ["ünïcødé", "x".repeat(8000), "a.b.c"]) {
      const rest = await t.request("GET", "/store/customers/me", { headers: { authorization: `Bearer ${bearer}` } });
      expect(rest.status).toBe(401);
      const graphql = await t.request("POST", "/graphql", {
        body: { query: "{ me { id } }" },
        headers: { authorization: `Bearer ${encodeURIComponent(bearer)}` },
      });
      expect(graphql.status).toBe(200);
      expect(graphql.json.data).toEqual({ me: null });
    }
  });
});

describe("GraphQL operations", () => {
  const expectRefused = async (query: string, pattern: RegExp) => {
    const response = await t.request("POST", "/graphql", {
      body: { query },
      headers: { accept: "application/graphql-response+json" },
    });
    expect(response.status).toBe(400);
    expect(response.json.errors[0].message).toMatch(pattern);
    expect(response.json.data).toBeUndefined();
    return response.json.errors[0];
  };

  it(`refuses more than ${OPERATION_LIMITS.aliases} aliases`, async () => {
    const error = await expectRefused(
      `{ ${Array.from({ length: OPERATION_LIMITS.aliases + 1 }, (_, i) => `a${i}: __typename`).join(" ")} }`,
      /^Aliases limit of 15 exceeded, found 16\.$/,
    );
    expect(error.extensions.code).toBe("OPERATION_LIMIT_EXCEEDED");
    const atLimit = await t.graphql(
      `{ ${Array.from({ length: OPERATION_LIMITS.aliases }, (_, i) => `a${i}: __typename`).join(" ")} }`,
    );
    expect(atLimit.errors).toBeUndefined();
  });

  it(`refuses a selection deeper than ${OPERATION_LIMITS.depth}`, async () => {
    const deep =
      "{ me { orderClaims { edges { node { orders { customer { orderClaims { edges { node { orders { id } } } } } } } } } } }";
    await expectRefused(deep, /Query depth limit of 10 exceeded/);
    // The deepest query a client needs passes, with fragments too (they add no depth).
    const needed = await t.graphql(
      "{ me { orderClaims { edges { node { orders { items { id } } } } } } }",
      {},
      storeTokenFor(customerId),
    );
    expect(needed.errors).toBeUndefined();
    const withFragments = await t.graphql(
      "fragment Claims on Customer { orderClaims { edges { node { ...Claim } } } } fragment Claim on OrderClaim { orders { ... on Order { items { id } } } } { me { ...Claims } }",
      {},
      storeTokenFor(customerId),
    );
    expect(withFragments.errors).toBeUndefined();
  });

  it(`refuses more than ${OPERATION_LIMITS.tokens} tokens before parsing the rest`, async () => {
    const error = await expectRefused(
      `{ ${"__typename ".repeat(OPERATION_LIMITS.tokens + 10)} }`,
      /^Token limit of 1000 exceeded\.$/,
    );
    expect(error.extensions.code).toBe("OPERATION_LIMIT_EXCEEDED");
  });

  it(`refuses more than ${OPERATION_LIMITS.directives} directives`, async () => {
    await expectRefused(
      `{ __typename ${"@include(if: true) ".repeat(OPERATION_LIMITS.directives + 1)} }`,
      /Directives limit of 50 exceeded/,
    );
  });

  it(`refuses an operation costing more than ${OPERATION_LIMITS.cost}`, async () => {
    const fields = "id email displayId status createdAt";
    const costly = `{ ${Array.from({ length: 14 }, (_, i) => `o${i}: me { orders(first: 100) { edges { node { ${fields} items { id title quantity unitPrice } shippingAddress { city countryCode } } } } }`).join(" ")} }`;
    await expectRefused(costly, /Query Cost limit of 5000 exceeded/);
  });
});

describe("GraphQL parameters in the URL or a form", () => {
  const query = encodeURIComponent("query ($skip: Boolean!) { __typename @skip(if: $skip) }");
  it.each([
    ["variables", "GET", `/graphql?query=${query}&variables=%7Bnot%20json`, undefined],
    ["extensions", "GET", `/graphql?query=${query}&extensions=%7B%22persistedQuery%22%3A`, undefined],
    ["variables", "POST", "/graphql", `query=${query}&variables=%5B1%2C`],
  ])(
    "answers malformed JSON in %s (%s) with a 400 naming the parameter, logging no error",
    async (parameter, method, path, form) => {
      t.logs.length = 0;
      const headers: Record<string, string> = {
        [CSRF_HEADER]: "1",
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      };
      const response = await t.request(method, path, { headers, rawBody: form });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({
        errors: [{ message: `The ${parameter} parameter is not valid JSON.`, extensions: { code: "BAD_REQUEST" } }],
      });
      expect(logEntries(t).filter((entry) => entry.level === "error" || entry.level === "warn")).toEqual([]);
    },
  );

  it("still reads well-formed parameters", async () => {
    const response = await t.request(
      "GET",
      `/graphql?query=${query}&variables=%7B%22skip%22%3Afalse%7D&extensions=%7B%7D&operationName=`,
      { headers: { [CSRF_HEADER]: "1" } },
    );
    expect(response.json).toEqual({ data: { __typename: "Query" } });
  });
});

describe("cross-site request forgery", () => {
  it.each([
    ["text/plain", '{"query":"{ __typename }"}'],
    ["application/x-www-form-urlencoded", "query=%7B__typename%7D"],
    [
      "multipart/form-data; boundary=x",
      '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n--x--\r\n',
    ],
  ])("refuses a %s POST, which a browser sends cross-site without asking", async (contentType, body) => {
    const response = await t.request("POST", "/graphql", { rawBody: body, headers: { "content-type": contentType } });
    expect(response.status).toBe(403);
    expect(response.json.errors[0].message).toBe("Required CSRF header(s) not present");
  });

  it(`refuses a GET without the ${CSRF_HEADER} header and answers one with it`, async () => {
    const refused = await t.request("GET", "/graphql?query=%7B__typename%7D");
    expect(refused.status).toBe(403);
    const answered = await t.request("GET", "/graphql?query=%7B__typename%7D", { headers: { [CSRF_HEADER]: "1" } });
    expect(answered.status).toBe(200);
    expect(answered.json).toEqual({ data: { __typename: "Query" } });
  });

  it("answers a JSON POST, which browsers preflight (and CORS governs)", async () => {
    expect((await t.graphql("{ __typename }")).data).toEqual({ __typename: "Query" });
  });
});
