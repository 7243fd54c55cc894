/**
 * What live claim status costs, measured (numbers for notes, not a test):
 * 1. the delay from confirming a claim on instance A to the VERIFIED event reaching a subscriber
 *    on instance B through Redis, beside the same delay for a subscriber on A itself and the
 *    confirm request's own latency, measured in the same rounds;
 * 2. the memory one idle subscriber costs: a separate `src/main.ts` server process (one per
 *    transport) with 1,000 idle SSE (or WebSocket) subscribers against the same process with none,
 *    after full garbage collections (heap) and as the OS sees it (RSS).
 *
 * Needs `redis-server` on the PATH. `npm run measure:subscriptions [-- ROUNDS [SUBSCRIBERS]]`
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config";
import { startEmbeddedPostgres } from "../src/db/embedded";
import { applyMigrations } from "../src/db/migrate";
import { createPrismaClient } from "../src/db/database";
import { createLogger } from "../src/lib/logger";
import { createGateway, type Gateway } from "../src/app/gateway";
import { loadSeed, parseSeedFile } from "../src/services/seed-service";
import { TestRedis } from "../test/support/redis";
import { TestMailServer } from "../test/support/smtp";
import { subscribeSse, subscribeWs, type SubscriptionStream } from "../test/support/subscriptions";
import { freePort, sleep } from "../test/support/wait";

const ROUNDS = Number(process.argv[2] ?? 50);
const SUBSCRIBERS = Number(process.argv[3] ?? 1000);
const JWT_SECRET = "measure-subscriptions-secret";
const ROOT = path.resolve(__dirname, "..");
const logger = createLogger("warn");
const QUERY = "subscription { orderClaimUpdated { id status } }";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;
const describe = (values: number[]) =>
  `median ${median(values).toFixed(1)} ms, p90 ${percentile(values, 0.9).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;

async function post(url: string, body: unknown, bearer?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, string>>;
}

async function waitForStatus(stream: SubscriptionStream, status: string) {
  for (;;) {
    const result = await stream.next(15_000);
    if (result.data?.orderClaimUpdated.status === status) return;
  }
}

async function measureDelay(databaseUrl: string, redisUrl: string, dataDir: string): Promise<void> {
  const mail = await new TestMailServer().start();
  const start = async (name: string): Promise<Gateway> => {
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      SMTP_URL: mail.url,
      DATA_DIR: path.join(dataDir, name),
      PORT: "0",
      HOST: "127.0.0.1",
      JWT_SECRET,
      LOG_LEVEL: "warn",
    });
    const gateway = await createGateway(config, logger);
    await gateway.listen();
    return gateway;
  };
  const [a, b] = [await start("a"), await start("b")];
  try {
    const { access_token: bearer } = await post(`${a.url}/store/auth/token`, {
      email: "ann@example.com",
      password: "correct horse",
    });
    const onA = await subscribeSse(a.url, QUERY, { bearer });
    const onB = await subscribeSse(b.url, QUERY, { bearer });
    await sleep(500);
    const confirmMs: number[] = [];
    const sameInstanceMs: number[] = [];
    const otherInstanceMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      mail.messages.length = 0;
      await post(`${a.url}/store/orders/batch/customer/token`, { order_ids: [`order_m${round}`] }, bearer);
      await Promise.all([waitForStatus(onA, "PENDING"), waitForStatus(onB, "PENDING")]);
      const [message] = await mail.waitFor(1);
      const started = performance.now();
      const confirmed = post(`${a.url}/store/orders/customer/confirm`, { token: message!.token }).then(
        () => performance.now() - started,
      );
      const seenOnA = waitForStatus(onA, "VERIFIED").then(() => performance.now() - started);
      const seenOnB = waitForStatus(onB, "VERIFIED").then(() => performance.now() - started);
      confirmMs.push(await confirmed);
      sameInstanceMs.push(await seenOnA);
      otherInstanceMs.push(await seenOnB);
    }
    await Promise.all([onA.close(), onB.close()]);
    console.log(`confirm on A -> VERIFIED event, ${ROUNDS} rounds, SSE subscribers, Redis between the instances:`);
    console.log(`  confirm request itself (baseline): ${describe(confirmMs)}`);
    console.log(`  subscriber on A (same instance):   ${describe(sameInstanceMs)}`);
    console.log(`  subscriber on B (other instance):  ${describe(otherInstanceMs)}`);
    console.log(
      `  other instance / confirm request:  ${(median(otherInstanceMs) / median(confirmMs)).toFixed(2)}x (medians)`,
    );
  } finally {
    await a.close();
    await b.close();
    await mail.stop();
  }
}

interface MemoryUse {
  rss: number;
  heapUsed: number;
  external: number;
}

/** A `src/main.ts` server in its own process, preloaded with `memory-probe.mjs`. */
class ProbedServer {
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];
  readonly url: string;

  private constructor(
    readonly child: ChildProcess,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
  }

  static async start(databaseUrl: string, dataDir: string): Promise<ProbedServer> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        "--import",
        path.join(ROOT, "scripts/memory-probe.mjs"),
        path.join(ROOT, "src/main.ts"),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          DATA_DIR: dataDir,
          PORT: String(port),
          HOST: "127.0.0.1",
          JWT_SECRET,
          LOG_LEVEL: "warn",
          SEED_DEMO: "false",
          REDIS_URL: "",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const server = new ProbedServer(child, port);
    for (
      let tries = 0;
      !(await fetch(`${server.url}/ready`).then(
        (r) => r.ok,
        () => false,
      ));
      tries++
    ) {
      if (tries > 100) throw new Error("the server did not start");
      await sleep(200);
    }
    return server;
  }

  /** Memory after a full garbage collection, once two readings a second apart agree within 1%. */
  async memory(): Promise<MemoryUse> {
    let previous: MemoryUse | undefined;
    for (let i = 0; i < 10; i++) {
      const reading = new Promise<string>((resolve) =>
        this.lines.length ? resolve(this.lines.shift()!) : this.waiters.push(resolve),
      );
      this.child.kill("SIGUSR2");
      const current = JSON.parse((await reading).replace(/^memory /, "")) as MemoryUse;
      if (previous && Math.abs(current.heapUsed - previous.heapUsed) <= previous.heapUsed * 0.01) return current;
      previous = current;
      await sleep(1000);
    }
    return previous!;
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await new Promise((resolve) => this.child.once("exit", resolve));
  }
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const KiB = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** One fresh server per transport, so neither measurement inherits the other's heap. */
async function measureMemory(databaseUrl: string, dataDir: string): Promise<void> {
  for (const [transport, open] of [
    ["SSE", subscribeSse],
    ["WebSocket", subscribeWs],
  ] as const) {
    const server = await ProbedServer.start(databaseUrl, path.join(dataDir, `memory-${transport}`));
    try {
      const { access_token: bearer } = await post(`${server.url}/store/auth/token`, {
        email: "ann@example.com",
        password: "correct horse",
      });
      // Warm up the code paths, so the comparison is of subscribers, not of first use.
      const warm = await Promise.all(Array.from({ length: 50 }, () => open(server.url, QUERY, { bearer })));
      await sleep(500);
      await Promise.all(warm.map((stream) => stream.close()));
      const before = await server.memory();
      const streams: SubscriptionStream[] = [];
      for (let i = 0; i < SUBSCRIBERS; i += 100) {
        streams.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, () => open(server.url, QUERY, { bearer })),
          )),
        );
      }
      await sleep(2000);
      const after = await server.memory();
      const perSubscriber = (key: keyof MemoryUse) => KiB((after[key] - before[key]) / SUBSCRIBERS);
      console.log(
        `${SUBSCRIBERS} idle ${transport} subscribers on one server: heap ${MiB(before.heapUsed)} -> ${MiB(after.heapUsed)} ` +
          `(${perSubscriber("heapUsed")} each), RSS ${MiB(before.rss)} -> ${MiB(after.rss)} (${perSubscriber("rss")} each), ` +
          `external ${perSubscriber("external")} each`,
      );
      await Promise.all(streams.map((stream) => stream.close()));
    } finally {
      await server.stop();
    }
  }
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-measure-"));
  fs.chmodSync(dataDir, 0o755);
  const postgres = await startEmbeddedPostgres(dataDir, logger);
  const redis = await new TestRedis().start();
  try {
    await applyMigrations(postgres.url, logger);
    const prisma = createPrismaClient(postgres.url);
    await loadSeed(
      prisma,
      parseSeedFile({
        customers: [{ id: "cus_ann", email: "ann@example.com", password: "correct horse", has_account: true }],
        orders: Array.from({ length: ROUNDS }, (_, i) => ({
          id: `order_m${i}`,
          email: `guest${i}@example.com`,
          items: [{ title: "Mug", unit_price: 1500, quantity: 1 }],
        })),
      }),
    );
    await prisma.$disconnect();
    await measureDelay(postgres.url, redis.url, dataDir);
    await measureMemory(postgres.url, dataDir);
  } finally {
    await redis.stop();
    await postgres.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
