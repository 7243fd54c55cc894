import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../src/lib/logger";
import { OWN_STORE_SEGMENTS, storeApi } from "../src/rest";
import { startTestGateway, type TestGateway } from "./support/gateway";
import { eventually } from "./support/wait";

jest.setTimeout(60_000);

/**
 * A stand-in for Medusa on a loopback port: a path registered in `routes` is answered by its
 * handler, any other with `200 {"ok":true}`; it counts the connections it was opened.
 */
async function startUpstream() {
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const received: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    received.push(req.url!);
    const route = routes.get(req.url!);
    if (route) return route(req, res);
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    received,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GET through the gateway with node:http, resolved at the answer's head; its body is read by the caller. */
const get = (url: string) =>
  new Promise<IncomingMessage>((resolve, reject) => http.get(url, { agent: false }, resolve).on("error", reject));

const firstChunk = (stream: IncomingMessage) =>
  new Promise<string>((resolve) => stream.once("data", (chunk: Buffer) => resolve(String(chunk))));

describe("forwarding to Medusa: streamed both ways over kept-alive connections", () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let t: TestGateway;

  beforeAll(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({ MEDUSA_URL: upstream.url });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it("keeps one connection to Medusa for requests one after another", async () => {
    const before = upstream.connections();
    for (let n = 0; n < 5; n++)
      expect((await t.request("GET", `/store/products?case=keep-alive-${n}`)).status).toBe(200);
    expect(upstream.connections() - before).toBeLessThanOrEqual(1);
  });

  it("passes Medusa's answer on as it comes: the client reads its first part before Medusa has finished", async () => {
    let finish: () => void = () => {};
    upstream.routes.set("/store/products?case=streamed", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first part;");
      finish = () => res.end("last part");
    });
    const answer = await get(`${t.url}/store/products?case=streamed`);
    expect(answer.statusCode).toBe(200);
    expect(await firstChunk(answer)).toBe("first part;");
    let rest = "";
    answer.on("data", (chunk: Buffer) => (rest += String(chunk)));
    const ended = new Promise((resolve) => answer.on("end", resolve));
    finish();
    await ended;
    expect(rest).toBe("last part");
  });

  it("closes Medusa's request when the client hangs up mid-answer, and serves the next one", async () => {
    let upstreamClosed = false;
    upstream.routes.set("/store/products?case=abandoned", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("an answer that never ends;");
      res.on("close", () => (upstreamClosed = true));
    });
    const answer = await get(`${t.url}/store/products?case=abandoned`);
    expect(await firstChunk(answer)).toBe("an answer that never ends;");
    answer.destroy();
    await eventually(() => upstreamClosed || undefined);
    expect((await t.request("GET", "/store/products?case=after-abandoned")).status).toBe(200);
  });

  it("passes none of the hop-by-hop headers of Medusa's connection on to the client", async () => {
    upstream.routes.set("/store/products?case=hop-by-hop", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "keep-alive": "timeout=1234", "x-medusa": "kept" }).end("ok");
    });
    const answer = await get(`${t.url}/store/products?case=hop-by-hop`);
    answer.resume();
    expect(answer.headers["x-medusa"]).toBe("kept");
    // The client's connection closes after this answer (agent: false): no Keep-Alive at all, Medusa's least of all.
    expect(answer.headers["keep-alive"]).toBeUndefined();
  });

  it("answers its own routes itself, whatever the case of the path; Medusa gets none of them", async () => {
    const before = upstream.received.length;
    const login = await t.request("POST", "/STORE/Auth/token", {
      body: { email: "nobody@example.com", password: "x" },
    });
    expect(login.status).toBe(401);
    expect(upstream.received.slice(before)).toEqual([]);
  });
});

it("has each of its own /store routes in front of Medusa under a segment of OWN_STORE_SEGMENTS (others go straight to Medusa)", () => {
  type RouteLayer = { route?: { path: string }; handle?: { stack?: RouteLayer[] } };
  const router = storeApi(
    {} as never,
    {} as never,
    {
      secureCookies: false,
      clientAddress: () => "",
      sessionSites: { storeCors: [], publicUrl: undefined },
      forward: (_req, res) => void res.end(),
    },
    createLogger("silent"),
  ) as unknown as { stack: RouteLayer[] };
  const paths = (stack: RouteLayer[]): string[] =>
    stack.flatMap((layer) => (layer.route ? [layer.route.path] : layer.handle?.stack ? paths(layer.handle.stack) : []));
  const own = paths(router.stack);
  expect(own.length).toBeGreaterThan(0);
  for (const path of own)
    expect({ path, own: OWN_STORE_SEGMENTS.has(path.split("/")[1]!) }).toEqual({ path, own: true });
});
