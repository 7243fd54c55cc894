/**
 * What forwarding to Medusa costs (numbers for notes, not a test): `GET /store/products` asked of a
 * real Medusa v1 directly, through the least a Node.js proxy does (a bare `node:http` pipe with a
 * kept-alive agent, in its own process: the floor of any hop) and through ordergate in front of it
 * (on Medusa's own database, as a shop runs it), at 1 and at 10 connections, in interleaved passes
 * of one run: at 1 connection one request at a time, each to the three in turn (the machine's other
 * load weighs on all alike), at more with autocannon, one after the other. Per run: throughput,
 * latency median (exact, from every answer) and p99, and the CPU each process tree (the proxy's,
 * Medusa's, PostgreSQL's) spent per request, from /proc before and after the run.
 *
 * Needs the Medusa test server (`npm ci --prefix medusa-v1-server`) and a build (`npm run build`).
 * `npm run measure:forwarding [-- PASSES [SECONDS [CONNECTIONS...]]] [--cpu-prof=DIR]` (defaults 3,
 * 5, 1 10); with `--cpu-prof`, the gateway writes a V8 CPU profile into DIR as it exits.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { createLogger } from "../src/lib/logger";
import { medusaInstalled } from "../test/support/medusa";
import { startBenchDatabase } from "./bench/database";
import { getInTurn } from "./bench/in-turn";
import { inFrontOfMedusa, medusaPid, startBenchMedusa } from "./bench/medusa";
import { postgresCpuMs, startGateway, treeCpuMs } from "./bench/processes";

const args = process.argv.slice(2);
const profileDir = args.find((arg) => arg.startsWith("--cpu-prof="))?.slice("--cpu-prof=".length);
const numbers = args.filter((arg) => !arg.startsWith("--")).map(Number);
const PASSES = numbers[0] ?? 3;
const SECONDS = numbers[1] ?? 5;
const CONNECTIONS = numbers.length > 2 ? numbers.slice(2) : [1, 10];
const JWT_SECRET = "measure-forwarding-secret-0123456789";
const ROUTE = "/store/products";
const IDLE_SECONDS = 5;

/** The bare pipe: each request to the target as it came, its answer back as it comes, nothing else. */
const PIPE_SOURCE = `
const http = require("node:http");
const target = new URL(process.argv[1]);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

const TARGETS = ["medusa", "pipe", "ordergate"] as const;
type Target = (typeof TARGETS)[number];
const LABELS: Record<Target, string> = {
  medusa: "Medusa directly",
  pipe: "bare node:http pipe",
  ordergate: "through ordergate",
};

interface Cpu {
  proxy: number;
  medusa: number;
  postgres: number;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** CPU ms per answered request. */
  cpu: Cpu;
}

/** CPU so far (ms) of Medusa, PostgreSQL, and of what stands between the client and Medusa for a target. */
type CpuReader = (target: Target) => Cpu;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function runOf(latencies: number[], seconds: number, cpu: Cpu): Run {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    rps: sorted.length / seconds,
    p50: sorted[Math.floor(sorted.length / 2)]!,
    p99: sorted[Math.floor(sorted.length * 0.99)]!,
    cpu,
  };
}

const cpuSpent = (before: Cpu, after: Cpu, requests: { proxy: number; all: number }): Cpu => ({
  proxy: (after.proxy - before.proxy) / requests.proxy,
  medusa: (after.medusa - before.medusa) / requests.all,
  postgres: (after.postgres - before.postgres) / requests.all,
});

async function load(target: Target, url: string, connections: number, seconds: number, cpuOf: CpuReader) {
  const latencies: number[] = [];
  const before = cpuOf(target);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url: `${url}${ROUTE}`, connections, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    // autocannon's own percentiles are whole milliseconds: the median is computed from every answer.
    instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  const after = cpuOf(target);
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const run = runOf(latencies, seconds, cpuSpent(before, after, { proxy: latencies.length, all: latencies.length }));
  return { ...run, rps: result.requests.average };
}

/**
 * One connection to each target, one request at a time, to each in turn for `seconds`. Medusa's
 * and PostgreSQL's CPU is per request of any kind; a proxy's per request through it.
 */
async function inTurn(urls: Record<Target, string>, seconds: number, cpuOf: CpuReader): Promise<Record<Target, Run>> {
  const before = TARGETS.map(cpuOf);
  const answers = await getInTurn(
    TARGETS.map((target) => urls[target]),
    ROUTE,
    seconds,
  );
  const after = TARGETS.map(cpuOf);
  for (const [i, answered] of answers.entries()) {
    const failed = answered.errors + answered.latenciesMs.length - (answered.statusCodes[200] ?? 0);
    if (failed > 0) throw new Error(`${urls[TARGETS[i]!]}: ${failed} requests failed or not answered 200`);
  }
  const all = answers.reduce((sum, answered) => sum + answered.latenciesMs.length, 0);
  return Object.fromEntries(
    TARGETS.map((target, i) => {
      const latencies = answers[i]!.latenciesMs;
      return [target, runOf(latencies, seconds, cpuSpent(before[i]!, after[i]!, { proxy: latencies.length, all }))];
    }),
  ) as Record<Target, Run>;
}

const summarize = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  cpu: {
    proxy: median(runs.map((r) => r.cpu.proxy)),
    medusa: median(runs.map((r) => r.cpu.medusa)),
    postgres: median(runs.map((r) => r.cpu.postgres)),
  },
});

const row = (label: string, r: Run) =>
  `  ${label.padEnd(20)}${r.rps.toFixed(0).padStart(5)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   ` +
  `CPU ms/req: proxy ${r.cpu.proxy.toFixed(2)}, Medusa ${r.cpu.medusa.toFixed(2)}, PostgreSQL ${r.cpu.postgres.toFixed(2)}\n`;

/** Added median (ms) and throughput ratio of `runs` next to Medusa's, each pass's runs side by side (the load drifts between passes). */
const against = (runs: Run[], direct: Run[]) => {
  const added = median(runs.map((r, i) => r.p50 - direct[i]!.p50));
  const ratio = median(runs.map((r, i) => r.rps / direct[i]!.rps));
  return `median ${added >= 0 ? "+" : ""}${added.toFixed(2)} ms, throughput ${ratio.toFixed(3)} of direct`;
};

async function startPipe(medusaUrl: string): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, ["-e", PIPE_SOURCE, medusaUrl], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", () => reject(new Error("the bare pipe exited")));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill() };
}

async function main() {
  if (!medusaInstalled()) throw new Error("the Medusa test server is not installed: npm ci --prefix medusa-v1-server");
  const logger = createLogger("warn");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-measure-forwarding-"));
  fs.chmodSync(dataDir, 0o755);
  const database = await startBenchDatabase(dataDir, undefined, logger);
  const medusa = await startBenchMedusa(database, JWT_SECRET);
  const gateway = await startGateway(inFrontOfMedusa(medusa, JWT_SECRET, dataDir), { profileDir });
  const pipe = await startPipe(medusa.url);
  try {
    const medusaRoot = medusaPid(medusa);
    const proxyPid: Record<Target, number | undefined> = {
      medusa: undefined,
      pipe: pipe.pid,
      ordergate: gateway.child.pid,
    };
    const cpuOf: CpuReader = (target) => {
      const pid = proxyPid[target];
      return {
        proxy: pid === undefined ? 0 : treeCpuMs(pid),
        medusa: treeCpuMs(medusaRoot),
        postgres: postgresCpuMs(database.postmasterPid!),
      };
    };
    const urls: Record<Target, string> = { medusa: medusa.url, pipe: pipe.url, ordergate: gateway.url };
    for (const target of TARGETS) await load(target, urls[target], 10, 1, cpuOf); // warm-up
    // What ordergate spends with no request at all (its job worker, pools, timers): part of each figure below.
    const idleFrom = treeCpuMs(gateway.child.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idle = (treeCpuMs(gateway.child.pid) - idleFrom) / IDLE_SECONDS;
    process.stdout.write(
      `GET ${ROUTE}, ${PASSES} interleaved passes of ${SECONDS} s (medians of the passes), Node.js ${process.version}, ${os.cpus().length} CPUs\n` +
        `  ordergate idle: ${idle.toFixed(1)} ms of CPU a second\n`,
    );
    for (const connections of CONNECTIONS) {
      const runs: Record<Target, Run[]> = { medusa: [], pipe: [], ordergate: [] };
      for (let pass = 0; pass < PASSES; pass++) {
        if (connections === 1) {
          const turn = await inTurn(urls, SECONDS, cpuOf);
          for (const target of TARGETS) runs[target].push(turn[target]);
        } else {
          for (const target of TARGETS)
            runs[target].push(await load(target, urls[target], connections, SECONDS, cpuOf));
        }
      }
      process.stdout.write(
        `${connections} connection${connections === 1 ? "" : "s"}${connections === 1 ? " (one request at a time, to each in turn)" : ""}:\n` +
          TARGETS.map((target) => row(LABELS[target], summarize(runs[target]))).join("") +
          `  added by the bare pipe: ${against(runs.pipe, runs.medusa)}\n` +
          `  added by ordergate:     ${against(runs.ordergate, runs.medusa)}\n`,
      );
    }
  } finally {
    pipe.stop();
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
