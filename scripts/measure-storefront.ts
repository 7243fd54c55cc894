/**
 * What the storefront in GraphQL costs and saves (numbers for notes, not a test), against a real
 * Medusa v1 on its own database, in one run:
 *
 * 1. a product page (the region and one product with its options, images, variants and prices) as
 *    ONE GraphQL request to ordergate, against the REST calls it replaces sent straight to Medusa in
 *    sequence (`GET /store/regions/:id`, then `GET /store/products?handle=…&expand=…`); latency of
 *    the whole page, with the catalog cache off (STORE_CACHE_TTL=0) and warm (60s). Each connection
 *    asks for a product of its own (ref-t-shirt, then mug-01, mug-02…), since even with the cache off
 *    the gateway shares one Medusa call among identical reads in flight at once; one more target, at
 *    more than one connection, asks for the same product on every connection to show that sharing;
 *    and a third baseline sends Medusa exactly the two calls the gateway makes for the page (recorded
 *    once through a proxy), one after the other, to tell Medusa's part of the time from the gateway's;
 * 2. Medusa calls per GraphQL request (ordergate_medusa_calls_total on /metrics, before and after),
 *    cache off, for a products page of 10 with variants and prices, and for the product page;
 * 3. pages a second: GraphQL with the cache warm against Medusa serving the page itself;
 * 4. bytes on the wire for the product page, one request each.
 *
 * Load is autocannon's, at each concurrency given, in interleaved passes (the order rotated each
 * pass), reporting medians of the passes. Medusa's page is autocannon's `requests` array: each
 * connection sends the two REST calls one after the other, as a storefront would; the page's latency
 * is the sum of its two calls' latencies on that connection, and its rate is pairs a second. CPU per
 * page (gateway, Medusa, PostgreSQL) is read from /proc to show where the time goes, less what each
 * used idle (measured for a few seconds before the load).
 *
 * Needs the Medusa test server (`npm ci --prefix medusa-v1-server`) and a build (`npm run build`).
 * `npm run measure:storefront [-- PASSES [SECONDS [CONNECTIONS]]]` (defaults 3, 5, "1,10")
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import autocannon from "autocannon";
import { createLogger } from "../src/lib/logger";
import { medusaInstalled } from "../test/support/medusa";
import { RecordingProxy } from "../test/support/recording-proxy";
import { startBenchDatabase } from "./bench/database";
import { inFrontOfMedusa, medusaPid, startBenchMedusa } from "./bench/medusa";
import { postgresCpuMs, startGateway, treeCpuMs } from "./bench/processes";

const PASSES = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 5);
const CONNECTIONS = (process.argv[4] ?? "1,10").split(",").map(Number);
const JWT_SECRET = "measure-storefront-secret-0123456789";
/** The product page of the bytes, the calls count and one connection; more connections take the next ones. */
const HANDLE = "ref-t-shirt";
/** The seed's products (medusa-v1-server/seed.json), one per connection. */
const HANDLES = [
  HANDLE,
  ...Array.from({ length: 11 }, (_, i) => `mug-${String(i + 1).padStart(2, "0")}`),
  "last-poster",
];
const IDLE_SECONDS = 3;
const WARM_TTL = "60s";
/** Sequential GraphQL requests for the calls count (cache off, so each one reads Medusa). */
const COUNT_REQUESTS = 20;
const ROOT = path.resolve(__dirname, "..");

/** The product page, as a storefront asks ordergate for it. */
const PRODUCT_PAGE = `query ProductPage($handle: String!, $region: ID!) {
  region(id: $region) { id name currencyCode }
  product(handle: $handle, regionId: $region) {
    id title handle description thumbnail
    options { title values }
    images { url }
    variants { id title sku inventoryQuantity price { amount currencyCode } }
  }
}`;

/** A products page of 10 with variants and prices. */
const PRODUCTS_PAGE = `query ProductsPage($region: ID!) {
  region(id: $region) { currencyCode }
  products(first: 10, regionId: $region) {
    edges { node { id title handle variants { id title price { amount currencyCode } } } }
  }
}`;

const PRODUCT_EXPAND = "variants,variants.prices,options,options.values,images";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Nearest-rank percentile of a sorted list. */
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : Number.NaN;

interface Target {
  name: string;
  label: string;
  url: string;
  /** A page's requests for a product; each connection sends them in turn, in order. */
  requestsFor(handle: string): autocannon.Request[];
  /** Every connection the same product (HANDLE), not one of its own; only run at more than one connection. */
  sameProduct?: boolean;
  /** The gateway serving it, whose Medusa calls are counted; none for Medusa directly. */
  gateway?: string;
}

interface Run {
  target: string;
  connections: number;
  pass: number;
  /** The products its connections asked for. */
  handles: string[];
  pages: number;
  pagesPerSecond: number;
  p50: number;
  p99: number;
  /** The p50 of each call of the page, in order (a GraphQL page has one). */
  callP50s: number[];
  mean: number;
  /** Response bytes on the wire (headers included) per page, as autocannon counted them. */
  responseBytesPerPage: number;
  /**
   * CPU ms per page of the gateways (both: the other is idle), Medusa (its process tree), PostgreSQL
   * (every backend) and this process (autocannon), less what each used idle.
   */
  cpuMsPerPage: { gateway: number; medusa: number; postgres: number; loadGenerator: number };
  /** Medusa calls per GraphQL request during the run (gateway targets). */
  medusaCallsPerRequest?: number;
}

/** Sum of ordergate_medusa_calls_total on a gateway's /metrics, and by route. */
async function medusaCalls(gatewayUrl: string): Promise<{ total: number; byRoute: Record<string, number> }> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const byRoute: Record<string, number> = {};
  let total = 0;
  for (const line of text.split("\n")) {
    const match = /^ordergate_medusa_calls_total\{(.*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    const route = /route="([^"]*)"/.exec(match[1]!)?.[1] ?? "?";
    const outcome = /outcome="([^"]*)"/.exec(match[1]!)?.[1] ?? "?";
    byRoute[`${route} (${outcome})`] = (byRoute[`${route} (${outcome})`] ?? 0) + value;
    total += value;
  }
  return { total, byRoute };
}

const diffRoutes = (before: Record<string, number>, after: Record<string, number>, per: number) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([route, value]) => [route, (value - (before[route] ?? 0)) / per] as const)
      .filter(([, value]) => value > 0),
  );

function graphqlRequest(query: string, variables: Record<string, unknown>): autocannon.Request {
  return {
    method: "POST",
    path: "/graphql",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  };
}

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (response.status !== 200 || json.errors)
    throw new Error(`GraphQL answered ${response.status}: ${JSON.stringify(json)}`);
  return json.data!;
}

/** One request on a fresh connection: bytes sent and received on the wire, and the body. */
function oneRequest(
  url: string,
  request: { method: string; path: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<{ sent: number; received: number; body: Buffer; status: number }>((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.request(
      `${url}${request.path}`,
      { method: request.method, headers: request.headers, agent },
      (res) => {
        // The socket goes back to the agent (and off the response) once the body is read.
        const socket = res.socket;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const result = {
            sent: socket.bytesWritten,
            received: socket.bytesRead,
            body: Buffer.concat(chunks),
            status: res.statusCode!,
          };
          agent.destroy();
          resolve(result);
        });
      },
    );
    req.on("error", reject);
    req.end(request.body);
  });
}

/** One pass of one target: autocannon at `connections`, the page latency per connection. */
async function load(
  target: Target,
  connections: number,
  seconds: number,
  pass: number,
  pids: Pids,
  idle: Cpu,
): Promise<Run> {
  const perPage = target.requestsFor(HANDLE).length;
  const latencies: number[] = [];
  /** Each call's latencies, by its place in the page. */
  const callLatencies: number[][] = Array.from({ length: perPage }, () => []);
  const pending = new Map<unknown, { index: number; sum: number }>();
  let graphqlErrors = 0;
  let bytes = 0;
  let responses = 0;
  const requestsFor = (handle: string) =>
    target.requestsFor(handle).map((request) =>
      target.gateway
        ? {
            ...request,
            onResponse: (_status: number, body: string) => {
              if (body.includes('"errors"')) graphqlErrors++;
            },
          }
        : request,
    );
  let clients = 0;
  const handles: string[] = [];
  const callsBefore = target.gateway ? await medusaCalls(target.gateway) : undefined;
  const cpuBefore = cpu(pids);
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections,
        duration: seconds,
        requests: requestsFor(HANDLE),
        // Called as each connection is made: its product.
        setupClient: (client) => {
          const handle = target.sameProduct ? HANDLE : HANDLES[clients++ % HANDLES.length]!;
          handles.push(handle);
          client.setRequests(requestsFor(handle));
        },
      },
      (error: Error | null, result: autocannon.Result) => (error ? reject(error) : resolve(result)),
    );
    instance.on("response", (client, _status, resBytes, responseTime) => {
      const state = pending.get(client) ?? { index: 0, sum: 0 };
      callLatencies[state.index]!.push(responseTime);
      state.sum += responseTime;
      state.index++;
      bytes += resBytes;
      responses++;
      if (state.index === perPage) {
        latencies.push(state.sum);
        state.index = 0;
        state.sum = 0;
      }
      pending.set(client, state);
    });
  });
  const cpuAfter = cpu(pids);
  const elapsed = (performance.now() - started) / 1000;
  if (result.non2xx > 0 || result.errors > 0 || graphqlErrors > 0)
    throw new Error(
      `${target.name} c=${connections}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${graphqlErrors} GraphQL errors`,
    );
  latencies.sort((a, b) => a - b);
  const pages = latencies.length;
  let medusaCallsPerRequest: number | undefined;
  if (target.gateway) {
    // Requests still in flight when autocannon stopped are answered (and their calls counted) just after.
    await new Promise((resolve) => setTimeout(resolve, 300));
    medusaCallsPerRequest = ((await medusaCalls(target.gateway)).total - callsBefore!.total) / result.requests.sent;
  }
  const perPageCpu = (key: keyof Cpu) => (cpuAfter[key] - cpuBefore[key] - idle[key] * elapsed) / pages;
  return {
    target: target.name,
    connections,
    pass,
    handles: [...new Set(handles)],
    pages,
    pagesPerSecond: pages / result.duration,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    callP50s: callLatencies.map((values) =>
      percentile(
        values.sort((a, b) => a - b),
        0.5,
      ),
    ),
    mean: latencies.reduce((a, b) => a + b, 0) / pages,
    responseBytesPerPage: (bytes / responses) * perPage,
    cpuMsPerPage: {
      gateway: perPageCpu("gateway"),
      medusa: perPageCpu("medusa"),
      postgres: perPageCpu("postgres"),
      loadGenerator: perPageCpu("loadGenerator"),
    },
    medusaCallsPerRequest,
  };
}

interface Pids {
  gateways: number[];
  medusa: number;
  postmaster: number | undefined;
}
interface Cpu {
  gateway: number;
  medusa: number;
  postgres: number;
  loadGenerator: number;
}
const ZERO_CPU: Cpu = { gateway: 0, medusa: 0, postgres: 0, loadGenerator: 0 };

function cpu(pids: Pids): Cpu {
  const usage = process.cpuUsage();
  return {
    // Both gateways: the idle one's share is a few timers.
    gateway: pids.gateways.reduce((sum, pid) => sum + treeCpuMs(pid), 0),
    medusa: treeCpuMs(pids.medusa),
    postgres: pids.postmaster === undefined ? Number.NaN : postgresCpuMs(pids.postmaster),
    loadGenerator: (usage.user + usage.system) / 1000,
  };
}

function gitCommit(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    return dirty.trim() ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return "unknown";
  }
}

/** A number to `digits` places ("-0.00" as "0.00": CPU less idle may come out a hair below zero). */
const fmt = (value: number, digits = 1) =>
  Number.isFinite(value) ? (Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value).toFixed(digits) : "-";
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "-");

async function main() {
  if (!medusaInstalled()) throw new Error("the Medusa test server is not installed: npm ci --prefix medusa-v1-server");
  if (!fs.existsSync(path.join(ROOT, "dist/main.js"))) throw new Error("no build: npm run build");
  const logger = createLogger("warn");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-measure-storefront-"));
  fs.chmodSync(dataDir, 0o755);
  const database = await startBenchDatabase(dataDir, undefined, logger);
  const medusa = await startBenchMedusa(database, JWT_SECRET);
  const gatewayEnv = inFrontOfMedusa(medusa, JWT_SECRET, dataDir);
  const gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
  const stopAll = async () => {
    for (const gateway of gateways) await gateway.child.stop();
    await medusa.close();
    await database.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  // An error thrown in a callback, or ^C, still stops Medusa (its own process group) and PostgreSQL.
  const abort = (reason: unknown) =>
    void stopAll().finally(() => {
      process.stderr.write(`measure-storefront stopped: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
      process.exit(1);
    });
  process.once("uncaughtException", abort).once("SIGINT", abort).once("SIGTERM", abort);
  try {
    const cold = await startGateway({ ...gatewayEnv, STORE_CACHE_TTL: "0" });
    gateways.push(cold);
    const warm = await startGateway({ ...gatewayEnv, STORE_CACHE_TTL: WARM_TTL });
    gateways.push(warm);
    const pids: Pids = {
      gateways: [cold.child.pid, warm.child.pid],
      medusa: medusaPid(medusa),
      postmaster: database.postmasterPid,
    };

    const regionId = await medusa.regionId();
    const productPath = (handle: string) =>
      `/store/products?handle=${handle}&region_id=${regionId}&expand=${encodeURIComponent(PRODUCT_EXPAND)}`;
    const restPage = (handle: string): autocannon.Request[] => [
      { method: "GET", path: `/store/regions/${regionId}` },
      { method: "GET", path: productPath(handle) },
    ];
    const variablesFor = (handle: string) => ({ handle, region: regionId });
    const variables = variablesFor(HANDLE);

    // What each side answers, checked once for every product a connection may ask for.
    for (const handle of HANDLES.slice(0, Math.min(HANDLES.length, Math.max(...CONNECTIONS)))) {
      const page = (await graphql(cold.url, PRODUCT_PAGE, variablesFor(handle))) as {
        product: { handle: string; variants: { price: { amount: number } | null }[] } | null;
      };
      if (page.product?.handle !== handle || page.product.variants.some((variant) => variant.price === null))
        throw new Error(`the GraphQL product page is not ${handle} with prices: ${JSON.stringify(page)}`);
      const rest = await medusa.request("GET", productPath(handle));
      if (rest.status !== 200 || rest.json.products.length !== 1)
        throw new Error(`Medusa's answer for ${handle}: ${rest.status} ${rest.text.slice(0, 300)}`);
    }

    // 2. Medusa calls per GraphQL request, cache off, one request at a time.
    const counts: Record<string, { perRequest: number; byRoute: Record<string, number> }> = {};
    for (const [name, query, vars] of [
      ["products page of 10", PRODUCTS_PAGE, { region: regionId }],
      ["product page", PRODUCT_PAGE, variables],
    ] as const) {
      const answer = (await graphql(cold.url, query, vars)) as {
        products?: { edges: { node: { variants: { price: unknown }[] } }[] };
      };
      const nodes = answer.products?.edges.map((edge) => edge.node);
      if (nodes && (nodes.length !== 10 || nodes.some((node) => node.variants.some((v) => v.price === null))))
        throw new Error(`the products page is not 10 products with prices: ${JSON.stringify(answer)}`);
      const before = await medusaCalls(cold.url);
      for (let i = 0; i < COUNT_REQUESTS; i++) await graphql(cold.url, query, vars);
      const after = await medusaCalls(cold.url);
      counts[name] = {
        perRequest: (after.total - before.total) / COUNT_REQUESTS,
        byRoute: diffRoutes(before.byRoute, after.byRoute, COUNT_REQUESTS),
      };
    }

    // The calls the gateway makes to Medusa for the product page, exactly (through a recording proxy, on a
    // gateway of its own started for this): sent straight to Medusa, they show what of a GraphQL page's
    // time is Medusa's and what is the gateway's.
    const proxy = await new RecordingProxy(medusa.url).start();
    let gatewayCalls: { method: string; path: string }[];
    try {
      const probe = await startGateway({ ...gatewayEnv, MEDUSA_URL: proxy.url, STORE_CACHE_TTL: "0" });
      try {
        gatewayCalls = (await proxy.during(() => graphql(probe.url, PRODUCT_PAGE, variables)))
          .map((line) => ({ method: line.split(" ")[0]!, path: line.slice(line.indexOf(" ") + 1) }))
          .sort((a, b) => Number(a.path.startsWith("/store/products")) - Number(b.path.startsWith("/store/products")));
      } finally {
        await probe.child.stop();
      }
    } finally {
      await proxy.stop();
    }
    if (
      gatewayCalls.length !== 2 ||
      gatewayCalls.some((call) => call.method !== "GET") ||
      gatewayCalls.filter((call) => call.path.includes(`handle=${HANDLE}&`) || call.path.endsWith(`handle=${HANDLE}`))
        .length !== 1
    )
      throw new Error(
        `the gateway's calls for the product page were not 2 GETs, one by handle: ${JSON.stringify(gatewayCalls)}`,
      );
    const gatewayCallsFor = (handle: string): autocannon.Request[] =>
      gatewayCalls.map((call) => ({ method: "GET", path: call.path.replace(`handle=${HANDLE}`, `handle=${handle}`) }));

    // 4. Bytes on the wire, one request each on a fresh connection.
    const graphqlBytes = await oneRequest(cold.url, {
      method: "POST",
      path: "/graphql",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: PRODUCT_PAGE, variables }),
    });
    const restBytes = [];
    for (const request of restPage(HANDLE))
      restBytes.push(await oneRequest(medusa.url, { method: "GET", path: request.path! }));
    for (const answer of [graphqlBytes, ...restBytes])
      if (answer.status !== 200) throw new Error(`a bytes request was answered ${answer.status}`);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const bytes = {
      graphql: {
        requestWire: graphqlBytes.sent,
        responseWire: graphqlBytes.received,
        responseBody: graphqlBytes.body.length,
        responseBodyGzip: zlib.gzipSync(graphqlBytes.body).length,
      },
      rest: {
        requestWire: sum(restBytes.map((answer) => answer.sent)),
        responseWire: sum(restBytes.map((answer) => answer.received)),
        responseBody: sum(restBytes.map((answer) => answer.body.length)),
        responseBodyGzip: sum(restBytes.map((answer) => zlib.gzipSync(answer.body).length)),
        responseBodies: restBytes.map((answer) => answer.body.length),
      },
    };

    // 1 and 3. Load, interleaved.
    const graphqlPage = (handle: string) => [graphqlRequest(PRODUCT_PAGE, variablesFor(handle))];
    const targets: Target[] = [
      {
        name: "medusa-rest",
        label: "Medusa directly: the 2 REST calls in sequence",
        url: medusa.url,
        requestsFor: restPage,
      },
      {
        name: "medusa-gateway-calls",
        label: "Medusa directly: the gateway's 2 calls for the page, in sequence",
        url: medusa.url,
        requestsFor: gatewayCallsFor,
      },
      {
        name: "graphql-cache-off",
        label: "ordergate GraphQL, cache off (STORE_CACHE_TTL=0)",
        url: cold.url,
        requestsFor: graphqlPage,
        gateway: cold.url,
      },
      {
        name: "graphql-cache-off-same-product",
        label: "ordergate GraphQL, cache off, the same product on every connection",
        url: cold.url,
        requestsFor: graphqlPage,
        sameProduct: true,
        gateway: cold.url,
      },
      {
        name: "graphql-cache-warm",
        label: `ordergate GraphQL, cache warm (STORE_CACHE_TTL=${WARM_TTL})`,
        url: warm.url,
        requestsFor: graphqlPage,
        gateway: warm.url,
      },
    ];
    const jobs = CONNECTIONS.flatMap((connections) =>
      targets.filter((target) => !target.sameProduct || connections > 1).map((target) => ({ target, connections })),
    );
    // Warm-up (and the warm cache), then what every process uses idle.
    for (const job of jobs) await load(job.target, job.connections, 1, -1, pids, ZERO_CPU);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleBefore = cpu(pids);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleAfter = cpu(pids);
    const idle = Object.fromEntries(
      Object.keys(idleBefore).map((key) => [
        key,
        (idleAfter[key as keyof Cpu] - idleBefore[key as keyof Cpu]) / IDLE_SECONDS,
      ]),
    ) as unknown as Cpu;
    const runs: Run[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      // Each pass starts one job later, so that no target always follows the same one.
      const order = jobs.map((_, i) => jobs[(i + pass) % jobs.length]!);
      for (const job of order) {
        const run = await load(job.target, job.connections, SECONDS, pass, pids, idle);
        runs.push(run);
        process.stderr.write(
          `pass ${pass + 1}/${PASSES} ${job.target.name} c=${job.connections}: ${fmt(run.pagesPerSecond, 0)} pages/s, ` +
            `p50 ${fmt(run.p50)} ms, p99 ${fmt(run.p99)} ms\n`,
        );
      }
    }

    const summarize = (name: string, connections: number) => {
      const mine = runs.filter((run) => run.target === name && run.connections === connections);
      if (!mine.length) return undefined;
      const med = (pick: (run: Run) => number) => median(mine.map(pick));
      return {
        pagesPerSecond: med((run) => run.pagesPerSecond),
        p50: med((run) => run.p50),
        p99: med((run) => run.p99),
        responseBytesPerPage: med((run) => run.responseBytesPerPage),
        callP50s: mine[0]!.callP50s.map((_, i) => med((run) => run.callP50s[i]!)),
        cpuMsPerPage: {
          gateway: med((run) => run.cpuMsPerPage.gateway),
          medusa: med((run) => run.cpuMsPerPage.medusa),
          postgres: med((run) => run.cpuMsPerPage.postgres),
          loadGenerator: med((run) => run.cpuMsPerPage.loadGenerator),
        },
        medusaCallsPerRequest:
          mine[0]!.medusaCallsPerRequest === undefined ? undefined : med((run) => run.medusaCallsPerRequest!),
      };
    };
    type Summary = NonNullable<ReturnType<typeof summarize>>;
    const summary: Record<number, Record<string, Summary>> = Object.fromEntries(
      CONNECTIONS.map((connections) => [
        connections,
        Object.fromEntries(
          targets.flatMap((target) => {
            const s = summarize(target.name, connections);
            return s ? [[target.name, s]] : [];
          }),
        ),
      ]),
    );
    /** `pick(a) / pick(b)` in each pass: the two runs of a pass are close in time. */
    const perPassRatios = (a: string, b: string, connections: number, pick: (run: Run) => number) =>
      Array.from({ length: PASSES }, (_, pass) => {
        const find = (name: string) =>
          runs.find((run) => run.target === name && run.connections === connections && run.pass === pass)!;
        return pick(find(a)) / pick(find(b));
      });
    const checks = CONNECTIONS.map((connections) => {
      const s = summary[connections]!;
      const rest = s["medusa-rest"]!;
      const ratio = (name: string, pick: (run: Summary) => number) =>
        s[name] ? pick(s[name]) / pick(rest) : undefined;
      return {
        connections,
        latencyRatioCacheOff: ratio("graphql-cache-off", (r) => r.p50)!,
        latencyRatioCacheOffPerPass: perPassRatios("graphql-cache-off", "medusa-rest", connections, (run) => run.p50),
        latencyRatioCacheOffSameProduct: ratio("graphql-cache-off-same-product", (r) => r.p50),
        latencyRatioCacheWarm: ratio("graphql-cache-warm", (r) => r.p50)!,
        rateRatioCacheWarm: ratio("graphql-cache-warm", (r) => r.pagesPerSecond)!,
        rateRatioCacheWarmPerPass: perPassRatios(
          "graphql-cache-warm",
          "medusa-rest",
          connections,
          (run) => run.pagesPerSecond,
        ),
        rateRatioCacheOff: ratio("graphql-cache-off", (r) => r.pagesPerSecond)!,
        rateRatioCacheOffSameProduct: ratio("graphql-cache-off-same-product", (r) => r.pagesPerSecond),
      };
    });

    // The report.
    const out: string[] = [];
    const range = (values: number[], digits = 2) =>
      `${fmt(Math.min(...values), digits)}-${fmt(Math.max(...values), digits)}`;
    const held = (ok: boolean) => (ok ? "held" : "NOT held");
    const route = (target: string) => target.split("?")[0]!.replace(regionId, ":id");
    out.push(
      `Node.js ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), commit ${gitCommit()}`,
      `Product page in region EU (${HANDLE} on one connection; at c connections, the first c of ${HANDLES.length} products, ` +
        `one per connection, unless said otherwise); ${PASSES} interleaved passes of ${SECONDS} s per row (medians of the passes).`,
      `A page: 1 GraphQL request to ordergate, or Medusa's 2 REST calls in sequence on one connection (latency: their sum).`,
      `CPU: less each process's idle use (gateways ${fmt(idle.gateway, 0)}, Medusa ${fmt(idle.medusa, 0)}, ` +
        `PostgreSQL ${fmt(idle.postgres, 0)} ms/s).`,
      "",
      "| target | c | pages/s | page p50 / p99 ms | CPU ms per page: gateway + Medusa + PostgreSQL | Medusa calls per page |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    for (const connections of CONNECTIONS)
      for (const target of targets) {
        const s = summary[connections]![target.name];
        if (!s) continue;
        // The gateways take no part in Medusa's own rows.
        const gatewayCpu = target.gateway ? fmt(s.cpuMsPerPage.gateway, 2) : "-";
        out.push(
          `| ${target.label} | ${connections} | ${int(s.pagesPerSecond)} | ${fmt(s.p50)} / ${fmt(s.p99)} | ` +
            `${gatewayCpu} + ${fmt(s.cpuMsPerPage.medusa, 2)} + ${fmt(s.cpuMsPerPage.postgres, 2)} | ` +
            `${s.medusaCallsPerRequest === undefined ? "2" : fmt(s.medusaCallsPerRequest, 2)} |`,
        );
      }
    out.push(
      "",
      "Medusa's calls one by one (p50 ms of each call, medians of the passes):",
      ...CONNECTIONS.flatMap((connections) =>
        ["medusa-rest", "medusa-gateway-calls"].map((name) => {
          const calls = name === "medusa-rest" ? restPage(HANDLE) : gatewayCalls;
          return (
            `  c=${connections}, ${name}: ` +
            calls.map((call, i) => `${route(call.path!)} ${fmt(summary[connections]![name]!.callP50s[i]!)}`).join(", ")
          );
        }),
      ),
      `  the gateway's calls: ${gatewayCalls.map((call) => `${call.method} ${call.path}`).join(" and ")}`,
      "",
      `Medusa calls per GraphQL request, cache off, one request at a time (${COUNT_REQUESTS} requests):`,
      ...Object.entries(counts).map(
        ([name, count]) =>
          `  ${name}: ${fmt(count.perRequest, 2)} (` +
          Object.entries(count.byRoute)
            .map(([route, value]) => `${route} ${fmt(value, 2)}`)
            .join(", ") +
          ")",
      ),
      "",
      `Bytes for the product page (${HANDLE}), one request each on a fresh connection (on the wire, headers included; bodies; bodies gzipped here):`,
      `  GraphQL: request ${bytes.graphql.requestWire}, response ${bytes.graphql.responseWire} ` +
        `(body ${bytes.graphql.responseBody}, gzipped ${bytes.graphql.responseBodyGzip})`,
      `  REST, 2 calls: requests ${bytes.rest.requestWire}, responses ${bytes.rest.responseWire} ` +
        `(bodies ${bytes.rest.responseBodies.join(" + ")} = ${bytes.rest.responseBody}, gzipped ${bytes.rest.responseBodyGzip})`,
      `  GraphQL / REST: response bodies ${fmt(bytes.graphql.responseBody / bytes.rest.responseBody, 2)}, ` +
        `responses with headers ${fmt(bytes.graphql.responseWire / bytes.rest.responseWire, 2)}, ` +
        `both ways ${fmt((bytes.graphql.requestWire + bytes.graphql.responseWire) / (bytes.rest.requestWire + bytes.rest.responseWire), 2)}`,
      "",
      "Targets (ratios of the medians; in brackets, the range of the same ratio within each pass):",
    );
    for (const check of checks) {
      const same =
        check.latencyRatioCacheOffSameProduct === undefined
          ? ""
          : `; cache off, same product everywhere: ${fmt(check.latencyRatioCacheOffSameProduct, 2)}`;
      out.push(
        `  c=${check.connections}: GraphQL page p50 / REST in sequence p50, cache off: ${fmt(check.latencyRatioCacheOff, 2)} ` +
          `(${range(check.latencyRatioCacheOffPerPass)}), target <= 1: ${held(check.latencyRatioCacheOff <= 1)}; ` +
          `cache warm: ${fmt(check.latencyRatioCacheWarm, 2)}${same}`,
        `  c=${check.connections}: GraphQL pages/s / Medusa pages/s, cache warm: ${fmt(check.rateRatioCacheWarm, 2)} ` +
          `(${range(check.rateRatioCacheWarmPerPass)}), target >= 3: ${held(check.rateRatioCacheWarm >= 3)}; ` +
          `cache off: ${fmt(check.rateRatioCacheOff, 2)}` +
          (check.rateRatioCacheOffSameProduct === undefined
            ? ""
            : `; cache off, same product everywhere: ${fmt(check.rateRatioCacheOffSameProduct, 2)}`),
      );
    }
    for (const [name, count] of Object.entries(counts))
      out.push(
        `  Medusa calls per request, ${name}, cache off: ${fmt(count.perRequest, 2)}, target <= 2: ${held(count.perRequest <= 2)}`,
      );
    process.stdout.write(out.join("\n") + "\n");

    const resultsDir = path.join(ROOT, "bench-results");
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `storefront-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          node: process.version,
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model,
          commit: gitCommit(),
          options: { passes: PASSES, seconds: SECONDS, connections: CONNECTIONS, warmTtl: WARM_TTL, handles: HANDLES },
          queries: {
            productPage: PRODUCT_PAGE,
            productsPage: PRODUCTS_PAGE,
            rest: restPage(HANDLE).map((r) => r.path),
            gatewayCalls: gatewayCalls.map((call) => `${call.method} ${call.path}`),
          },
          idleCpuMsPerSecond: idle,
          summary,
          checks,
          counts,
          bytes,
          runs,
        },
        null,
        2,
      ),
    );
    process.stdout.write(`raw results: ${path.relative(ROOT, file)}\n`);
  } finally {
    process.off("uncaughtException", abort).off("SIGINT", abort).off("SIGTERM", abort);
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`measure-storefront failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
