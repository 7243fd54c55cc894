import http, { type IncomingHttpHeaders } from "node:http";
import net, { type AddressInfo } from "node:net";
import { startTestGateway, type TestGateway } from "./support/gateway";
import { rawRequest } from "./support/raw-http";
import { claimScenario, seedScenario } from "./support/scenarios";
import { eventually, sleep } from "./support/wait";

jest.setTimeout(60_000);

/** What the stand-in for Medusa was sent: one entry per request, from its head on. */
interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  /** The whole body arrived (a request aborted midway never completes). */
  complete: boolean;
  /** The connection went before the body was complete. */
  cutShort: boolean;
}

/**
 * A plain HTTP server on a loopback port standing in for Medusa: it records every request it is
 * sent and answers `200 {"ok":true}` once a body is complete. Faster than Medusa for what only the
 * wire shows (headers, paths, bodies).
 */
async function startRecordingUpstream(): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const entry: ReceivedRequest = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      bodyBytes: 0,
      complete: false,
      cutShort: false,
    };
    received.push(entry);
    req.on("data", (chunk: Buffer) => (entry.bodyBytes += chunk.length));
    req.on("close", () => (entry.cutShort = !entry.complete));
    req.on("end", () => {
      entry.complete = true;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The storefronts ordergate's STORE_CORS allows: one listed, and a pattern. */
const LISTED_STOREFRONT = "http://gateway-shop.example";
const STORE_CORS = `${LISTED_STOREFRONT},/https:\\/\\/[a-z0-9-]+\\.preview\\.shop\\.example/`;

describe("forwarding to Medusa: what a hostile client sends does not reach Medusa as sent", () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  /** TRUST_PROXY unset: every client is the immediate peer, and untrusted. */
  let direct: TestGateway;
  /** TRUST_PROXY=loopback: the test client plays a proxy ordergate trusts. */
  let behindProxy: TestGateway;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    [direct, behindProxy] = await Promise.all([
      startTestGateway({ MEDUSA_URL: upstream.url, STORE_CORS }),
      startTestGateway({ MEDUSA_URL: upstream.url, STORE_CORS, TRUST_PROXY: "loopback" }),
    ]);
    await seedScenario(direct.prisma, claimScenario);
  });
  afterAll(async () => {
    await direct?.close();
    await behindProxy?.close();
    await upstream?.close();
  });

  /** What the stand-in received for `path` (each test uses a path of its own). */
  const receivedAt = (path: string) => upstream.received.filter((request) => request.url === path);
  const hostOf = (t: TestGateway) => new URL(t.url).host;
  /** The addresses of an X-Forwarded-For header, client first. */
  const addressesIn = (header: string | string[] | undefined) =>
    String(header)
      .split(",")
      .map((address) => address.trim());

  const forgedOrigin = {
    "x-forwarded-for": "198.51.100.66",
    "x-forwarded-host": "forged.example",
    "x-forwarded-proto": "https",
    "x-forwarded-port": "8443",
    forwarded: "for=198.51.100.66;host=forged.example;proto=https",
    "x-real-ip": "198.51.100.66",
  };

  it("gives Medusa X-Forwarded-For/-Host/-Proto from what ordergate sees, not from an untrusted client's claims", async () => {
    const response = await direct.request("GET", "/store/products?case=untrusted", { headers: forgedOrigin });
    expect(response.status).toBe(200);
    const [seen] = receivedAt("/store/products?case=untrusted");
    expect(addressesIn(seen!.headers["x-forwarded-for"])).toEqual(["127.0.0.1"]);
    expect(seen!.headers["x-forwarded-host"]).toBe(hostOf(direct));
    expect(seen!.headers["x-forwarded-proto"]).toBe("http");
    for (const dropped of ["x-forwarded-port", "forwarded", "x-real-ip"])
      expect(seen!.headers[dropped]).toBeUndefined();
  });

  it("keeps the chain, host and protocol a trusted proxy (TRUST_PROXY) vouches for, and appends the proxy's address", async () => {
    await behindProxy.request("GET", "/store/products?case=trusted", {
      headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-host": "shop.example", "x-forwarded-proto": "https" },
    });
    const [seen] = receivedAt("/store/products?case=trusted");
    expect(addressesIn(seen!.headers["x-forwarded-for"])).toEqual(["203.0.113.7", "127.0.0.1"]);
    expect(seen!.headers["x-forwarded-host"]).toBe("shop.example");
    expect(seen!.headers["x-forwarded-proto"]).toBe("https");

    // The client is the first address the trusted proxy did not vouch for; what it claimed
    // before itself is its own story and goes no further.
    await behindProxy.request("GET", "/store/products?case=trusted-chain", {
      headers: { "x-forwarded-for": "198.51.100.66, 203.0.113.7, 127.0.0.2" },
    });
    expect(addressesIn(receivedAt("/store/products?case=trusted-chain")[0]!.headers["x-forwarded-for"])).toEqual([
      "203.0.113.7",
      "127.0.0.2",
      "127.0.0.1",
    ]);
  });

  /** `bodyBytes` of body in chunks of 16 kB, chunked-encoded, without the last (empty) chunk. */
  const chunksOf = (bodyBytes: number) => {
    const chunkBytes = 16 * 1024;
    const chunks: Buffer[] = [];
    for (let sent = 0; sent < bodyBytes; sent += chunkBytes) {
      const size = Math.min(chunkBytes, bodyBytes - sent);
      chunks.push(Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, "a"), Buffer.from("\r\n"));
    }
    return Buffer.concat(chunks);
  };
  const LAST_CHUNK = "0\r\n\r\n";
  const chunkedPostHead = (t: TestGateway, path: string) =>
    [`POST ${path} HTTP/1.1`, `Host: ${hostOf(t)}`, "Content-Type: text/plain", "Transfer-Encoding: chunked"].join(
      "\r\n",
    );
  /** A chunked POST through a raw socket (fetch would send a length), sent at once. */
  const chunkedPost = (t: TestGateway, path: string, bodyBytes: number) =>
    rawRequest(t.url, chunkedPostHead(t, path), Buffer.concat([chunksOf(bodyBytes), Buffer.from(LAST_CHUNK)]));

  it("cuts off a chunked body that streams past the 100 kB limit: 413, and Medusa never gets the whole request", async () => {
    const response = await chunkedPost(direct, "/store/carts?case=oversize", 150 * 1024);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({
      type: "invalid_data",
      message: "The request body is larger than 102400 bytes.",
    });
    // Long enough for a forwarded body to have arrived in full, had it been let through.
    await sleep(500);
    expect(receivedAt("/store/carts?case=oversize").filter((request) => request.complete)).toEqual([]);

    // Under the limit, a chunked body goes through whole.
    const underLimit = await chunkedPost(direct, "/store/carts?case=chunked-under-limit", 90 * 1024);
    expect(underLimit.status).toBe(200);
    expect(receivedAt("/store/carts?case=chunked-under-limit")).toMatchObject([
      { complete: true, bodyBytes: 90 * 1024 },
    ]);
  });

  it("aborts the request to Medusa already under way when its body passes the limit midway", async () => {
    const path = "/store/carts?case=oversize-midway";
    const { hostname, port } = new URL(direct.url);
    const client = net.connect(Number(port), hostname);
    let answer = "";
    client.on("data", (chunk) => (answer += String(chunk)));
    client.on("error", () => {});
    try {
      client.write(`${chunkedPostHead(direct, path)}\r\n\r\n`);
      client.write(chunksOf(60 * 1024));
      // Medusa has the request and part of its body...
      const underWay = await eventually(() => receivedAt(path).find((request) => request.bodyBytes > 0));
      // ...when the rest passes the limit.
      client.write(chunksOf(60 * 1024));
      client.write(LAST_CHUNK);
      await eventually(() => (answer.includes("\r\n\r\n") && underWay.cutShort) || undefined);
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(underWay).toMatchObject({ complete: false, cutShort: true });
      expect(underWay.bodyBytes).toBeLessThanOrEqual(100 * 1024);
    } finally {
      client.destroy();
    }
  });

  it("refuses paths with dot-segments, however encoded, with 400 before Medusa sees them", async () => {
    const hostile = [
      "/store/../admin/users",
      "/store/./products",
      "/store/products/..",
      "/store/%2e%2e/admin",
      "/store/%2E./admin",
      "/store/.%2E/admin",
      "/store/%2e/products",
      "/store/products/..%2f..%2fadmin",
      "/store/products%2F%2e%2e%2Fadmin",
      "/store/products/..%5cadmin",
      "/store/%252e%252e/admin",
    ];
    const seenBefore = upstream.received.length;
    for (const path of hostile) {
      const response = await rawRequest(
        direct.url,
        `GET ${path} HTTP/1.1\r\nHost: ${hostOf(direct)}\r\nConnection: close`,
      );
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(JSON.parse(response.body)).toEqual({
        type: "invalid_data",
        message: expect.stringContaining('"." or ".." segment'),
      });
    }
    expect(upstream.received.slice(seenBefore).map((request) => request.url)).toEqual([]);

    // Dots inside a segment, and in the query, are no segments of their own: forwarded as sent.
    const harmless = "/store/products/a..b/...?next=../x";
    const response = await rawRequest(
      direct.url,
      `GET ${harmless} HTTP/1.1\r\nHost: ${hostOf(direct)}\r\nConnection: close`,
    );
    expect(response.status).toBe(200);
    expect(receivedAt(harmless)).toHaveLength(1);
  });

  describe("an unsafe request signed in by the session cookie", () => {
    let cookie: string;
    let annId: string;
    beforeAll(async () => {
      const { email, password } = claimScenario.customers.ann;
      const signIn = await direct.request("POST", "/store/auth", { body: { email, password } });
      expect(signIn.status).toBe(200);
      cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
      annId = signIn.json.customer.id;
    });

    const postWithCookie = (path: string, headers: Record<string, string>) =>
      direct.request("POST", path, { body: { region_id: "reg_1" }, cookie, headers });
    /** The customer of the bearer Medusa was sent for `path`, verified with the shared secret. */
    const bearerCustomerAt = (path: string) => {
      const [seen] = receivedAt(path);
      expect(seen).toBeDefined();
      return direct.gateway.services.auth.viewerFromBearer(seen!.headers.authorization)?.customerId;
    };

    it("from another site is refused with 403: Medusa gets nothing, so no bearer", async () => {
      const crossSite: Record<string, string>[] = [
        { "sec-fetch-site": "cross-site", origin: "http://evil.example" },
        // A sibling subdomain is same-site, not same-origin.
        { "sec-fetch-site": "same-site", origin: "http://evil.gateway-shop.example" },
        // Without Fetch Metadata (older browsers), the Origin alone decides.
        { origin: "http://evil.example" },
        { origin: "null" },
        // Fetch Metadata says another site, and no Origin vouches for it.
        { "sec-fetch-site": "cross-site" },
      ];
      for (const [index, headers] of crossSite.entries()) {
        const path = `/store/carts?case=cross-site-${index}`;
        const response = await postWithCookie(path, headers);
        expect({ headers, status: response.status }).toEqual({ headers, status: 403 });
        expect(response.json).toEqual({
          type: "not_allowed",
          message: expect.stringContaining("comes from another site"),
        });
        expect(receivedAt(path)).toEqual([]);
      }
      expect(direct.responses.join("\n")).not.toContain(cookie);
    });

    it("from ordergate's own origin, a STORE_CORS storefront or a non-browser client reaches Medusa with a bearer for the same customer", async () => {
      const allowed = {
        "same-origin": { "sec-fetch-site": "same-origin", origin: direct.url },
        "own-origin-without-fetch-metadata": { origin: direct.url },
        "listed-storefront": { "sec-fetch-site": "cross-site", origin: LISTED_STOREFRONT },
        "storefront-by-pattern": { "sec-fetch-site": "cross-site", origin: "https://pr42.preview.shop.example" },
        "typed-into-the-address-bar": { "sec-fetch-site": "none" },
        "not-a-browser": {},
      };
      for (const [name, headers] of Object.entries(allowed)) {
        const path = `/store/carts?case=${name}`;
        const response = await postWithCookie(path, headers);
        expect({ name, status: response.status }).toEqual({ name, status: 200 });
        expect({ name, customer: bearerCustomerAt(path) }).toEqual({ name, customer: annId });
      }
    });

    it("a safe method from another site is forwarded signed in (reads are not what the check guards)", async () => {
      const path = "/store/customers/me?case=cross-site-read";
      const response = await direct.request("GET", path, {
        cookie,
        headers: { "sec-fetch-site": "cross-site", origin: "http://evil.example" },
      });
      expect(response.status).toBe(200);
      expect(bearerCustomerAt(path)).toBe(annId);
    });
  });
});
