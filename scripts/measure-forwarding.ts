/**
 * What forwarding to Medusa costs (numbers for notes, not a test): `GET /store/products` asked of a
 * real Medusa v1 directly and through ordergate in front of it (on Medusa's own database, as a shop
 * runs it), with autocannon, interleaved passes, in one run; latency medians and p99s side by side.
 *
 * Needs the Medusa test server (`npm ci --prefix medusa-v1-server`) and a build (`npm run build`).
 * `npm run measure:forwarding [-- PASSES [SECONDS [CONNECTIONS]]]` (defaults 3, 5, 10)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { createLogger } from "../src/lib/logger";
import { medusaInstalled } from "../test/support/medusa";
import { startBenchDatabase } from "./bench/database";
import { inFrontOfMedusa, startBenchMedusa } from "./bench/medusa";
import { startGateway } from "./bench/processes";

const PASSES = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 5);
const CONNECTIONS = Number(process.argv[4] ?? 10);
const JWT_SECRET = "measure-forwarding-secret-0123456789";
const ROUTE = "/store/products";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function load(url: string, seconds: number) {
  const result = await autocannon({ url: `${url}${ROUTE}`, connections: CONNECTIONS, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function main() {
  if (!medusaInstalled()) throw new Error("the Medusa test server is not installed: npm ci --prefix medusa-v1-server");
  const logger = createLogger("warn");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-measure-forwarding-"));
  fs.chmodSync(dataDir, 0o755);
  const database = await startBenchDatabase(dataDir, undefined, logger);
  const medusa = await startBenchMedusa(database, JWT_SECRET);
  const gateway = await startGateway(inFrontOfMedusa(medusa, JWT_SECRET, dataDir));
  try {
    const targets = { medusa: medusa.url, ordergate: gateway.url };
    for (const url of Object.values(targets)) await load(url, 1); // warm-up
    const runs: Record<string, { rps: number; p50: number; p99: number }[]> = { medusa: [], ordergate: [] };
    for (let pass = 0; pass < PASSES; pass++) {
      for (const [name, url] of Object.entries(targets)) runs[name]!.push(await load(url, SECONDS));
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([name, results]) => [
        name,
        {
          rps: median(results.map((r) => r.rps)),
          p50: median(results.map((r) => r.p50)),
          p99: median(results.map((r) => r.p99)),
        },
      ]),
    );
    const { medusa: direct, ordergate: forwarded } = summary as Record<
      string,
      { rps: number; p50: number; p99: number }
    >;
    process.stdout.write(
      `GET ${ROUTE}, ${CONNECTIONS} connections, ${PASSES} interleaved passes of ${SECONDS} s (medians of the passes), Node.js ${process.version}\n` +
        `  Medusa directly:      ${direct!.rps.toFixed(0)} req/s, latency p50 ${direct!.p50} ms, p99 ${direct!.p99} ms\n` +
        `  through ordergate:    ${forwarded!.rps.toFixed(0)} req/s, latency p50 ${forwarded!.p50} ms, p99 ${forwarded!.p99} ms\n` +
        `  added by forwarding:  p50 ${(forwarded!.p50 - direct!.p50).toFixed(1)} ms, p99 ${(forwarded!.p99 - direct!.p99).toFixed(1)} ms; throughput ${((forwarded!.rps / direct!.rps) * 100).toFixed(0)}% of direct\n`,
    );
  } finally {
    await gateway.child.stop();
    await medusa.close();
    await database.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`measure-forwarding failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
