import { startTestGateway, type TestGateway } from "./support/gateway";

/**
 * Browser storefronts on other origins (Medusa's store_cors): the listed origins get credentialed
 * CORS on /store and /graphql alike; a foreign origin gets no CORS headers, never a reflection.
 */
const STOREFRONT = "https://shop.example.com";
const PREVIEW = "https://pr-42.preview.example.com";
const FOREIGN = "https://evil.example.net";
/** Allowed by an unanchored /regular expression/, which must still match the whole origin. */
const BRAND = "https://brand.example.org";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    STORE_CORS: `${STOREFRONT}, /^https:\\/\\/pr-\\d+\\.preview\\.example\\.com$/, /https:\\/\\/brand\\.example\\.org/`,
  });
});
afterAll(() => t?.close());

const preflight = (path: string, origin: string, method: string) =>
  t.request("OPTIONS", path, {
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": "content-type,authorization",
    },
  });

describe.each([
  ["/store", "/store/auth/ann@example.com", "GET"],
  ["/graphql", "/graphql", "POST"],
])("CORS on %s", (_door, path, method) => {
  it.each([STOREFRONT, PREVIEW, BRAND])(
    "answers the preflight of an allowed origin (%s) with credentials",
    async (origin) => {
      const response = await preflight(path, origin, method);
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(origin);
      expect(response.headers.get("access-control-allow-credentials")).toBe("true");
      expect(response.headers.get("access-control-allow-methods")).toContain(method);
      expect(response.headers.get("access-control-allow-headers")).toBe("content-type,authorization");
    },
  );

  it("lets an allowed origin read a credentialed response", async () => {
    const response =
      method === "GET"
        ? await t.request("GET", path, { headers: { origin: STOREFRONT, cookie: "connect.sid=whatever" } })
        : await t.request("POST", path, { headers: { origin: STOREFRONT }, body: { query: "{ me { id } }" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(STOREFRONT);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("vary")).toMatch(/origin/i);
  });

  it.each([FOREIGN, `${BRAND}.evil.io`, `https://evil.io?${BRAND}`, "https://pr-1.preview.example.com.evil.io"])(
    "gives a foreign origin (%s) no CORS headers, on the preflight and on the request",
    async (foreign) => {
      const pre = await preflight(path, foreign, method);
      const actual =
        method === "GET"
          ? await t.request("GET", path, { headers: { origin: foreign } })
          : await t.request("POST", path, { headers: { origin: foreign }, body: { query: "{ me { id } }" } });
      for (const response of [pre, actual]) {
        expect([...response.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
        expect(response.status).toBeLessThan(500);
      }
    },
  );
});

it("does not add CORS headers outside /store and /graphql", async () => {
  const response = await t.request("GET", "/health", { headers: { origin: STOREFRONT } });
  expect(response.headers.get("access-control-allow-origin")).toBeNull();
});
