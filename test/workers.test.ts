import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { TestMailServer } from "./support/smtp";
import { subscribeSse, type SubscriptionStream } from "./support/subscriptions";
import { eventually, freePort } from "./support/wait";

/**
 * The gateway as `npm start` runs it: a primary, WEB_CONCURRENCY web workers sharing the port and
 * one job worker (src/app/supervisor.ts), on its embedded PostgreSQL, mailing to a loopback SMTP
 * server. What one process did before must hold across them: a claim answered by a web worker is
 * mailed by the job worker, its status reaches subscribers on every web worker, limits and metrics
 * are the gateway's, not a worker's, and a worker that dies is replaced.
 */
const ROOT = path.resolve(__dirname, "..");
const JWT_SECRET = "workers-test-secret-0123456789";
const WEB_WORKERS = 2;
const STATUS_SUBSCRIPTION = "subscription { orderClaimUpdated { id status } }";
const CLAIM = "/store/orders/batch/customer/token";

let dataDir: string;
let mail: TestMailServer;
let gateway: ChildProcess;
let url: string;
let log = "";

const annToken = jwt.sign({ customer_id: "cus_ann", domain: "store" }, JWT_SECRET, { expiresIn: "1h" });

/** Log lines (JSON) of the gateway's processes that say `msg`. */
const logLines = (msg: string) =>
  log
    .split("\n")
    .filter((line) => line.includes(msg))
    .map((line) => JSON.parse(line) as { pid: number; msg: string });

/** The pids of the primary's children that are ordergate workers (not PostgreSQL). */
function workerPids(): number[] {
  const children = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(gateway.pid)], { encoding: "utf8" });
  return children
    .split("\n")
    .filter((line) => line.includes("dist/main.js"))
    .map((line) => Number(line.trim().split(" ")[0]));
}

async function claim(orderIds: string[]): Promise<number> {
  const response = await fetch(`${url}${CLAIM}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${annToken}`, connection: "close" },
    body: JSON.stringify({ order_ids: orderIds }),
  });
  return response.status;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : Number.NaN;
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, "dist/main.js")))
    throw new Error("dist/main.js is missing: `npm run build` (npm test builds first)");
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-workers-"));
  fs.chmodSync(dataDir, 0o755); // the embedded server runs as the `postgres` OS user when we are root
  mail = await new TestMailServer().start();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  gateway = spawn(process.execPath, ["dist/main.js"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_SECRET,
      SMTP_URL: mail.url,
      WEB_CONCURRENCY: String(WEB_WORKERS),
      LOG_LEVEL: "info",
      RATE_LIMIT_CONFIRM_IP: "3/1h",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  gateway.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  gateway.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  await eventually(() => (log.includes("ordergate listening") ? true : undefined), 60_000);
}, 90_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    gateway.kill("SIGKILL");
    for (const pid of workerPids()) process.kill(pid, "SIGKILL");
  }
  await mail?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it("runs WEB_CONCURRENCY web workers and one job worker beside the primary", () => {
  expect(workerPids()).toHaveLength(WEB_WORKERS + 1);
  // Only the job worker sends mail.
  expect(logLines("mail transport ready")).toHaveLength(1);
});

it("mails a claim from the job worker, and every web worker's subscribers hear its status", async () => {
  // Connections go to the web workers in turn: four streams reach both of them.
  const streams: SubscriptionStream[] = [];
  for (let i = 0; i < 4; i++) streams.push(await subscribeSse(url, STATUS_SUBSCRIPTION, { bearer: annToken }));
  await eventually(async () => ((await metric("ordergate_open_subscriptions")) === 4 ? true : undefined));

  expect(await claim(["order_1003"])).toBe(200);
  const [message] = await mail.waitFor(1);
  expect(message!.to).toEqual(["ann.home@example.net"]);
  for (const stream of streams) {
    const update = await stream.next(10_000);
    expect(update.data).toEqual({ orderClaimUpdated: { id: expect.stringMatching(/^oclaim_/), status: "PENDING" } });
  }
  for (const stream of streams) await stream.close();

  const [jobWorker] = logLines("mail transport ready").map((line) => line.pid);
  // Logged once the SMTP server has accepted it: a moment after it arrived.
  await eventually(() => (logLines("claim email sent").length > 0 ? true : undefined));
  expect(logLines("claim email sent").map((line) => line.pid)).toEqual([jobWorker]);
  const servedBy = new Set(logLines("request completed").map((line) => line.pid));
  expect(servedBy.size).toBe(WEB_WORKERS);
  expect(servedBy.has(jobWorker!)).toBe(false);
  // The job worker's count, read through whichever web worker answered.
  await eventually(async () => ((await metric('ordergate_mails_total{outcome="sent"}')) === 1 ? true : undefined));
}, 60_000);

it("counts a rate limit across the web workers", async () => {
  const confirm = () =>
    fetch(`${url}/store/orders/customer/confirm`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: JSON.stringify({ token: "x".repeat(43) }),
    }).then((response) => response.status);
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push(await confirm());
  // Three attempts an hour from this address, whichever worker each reached.
  expect(statuses).toEqual([400, 400, 400, 429, 429]);
});

it("starts another job worker when it dies, and the emails go out again", async () => {
  const [jobWorker] = logLines("mail transport ready").map((line) => line.pid);
  process.kill(jobWorker!, "SIGKILL");
  await eventually(() => (logLines("mail transport ready").length === 2 ? true : undefined), 30_000);
  expect(log).toContain("the jobs worker died (SIGKILL): starting another");
  expect(workerPids()).toHaveLength(WEB_WORKERS + 1);

  mail.messages.length = 0;
  expect(await claim(["order_1001"])).toBe(200);
  const [message] = await mail.waitFor(1);
  expect(message!.to).toEqual(["ann.work@example.com"]);
}, 60_000);

it("starts another web worker when one dies, while the other serves", async () => {
  const [jobWorker] = logLines("mail transport ready")
    .slice(-1)
    .map((line) => line.pid);
  const web = workerPids().filter((pid) => pid !== jobWorker);
  process.kill(web[0]!, "SIGKILL");
  // Once the primary knows (a connection handed to the worker in the instant it died is lost with it).
  await eventually(() => (log.includes("the web worker died (SIGKILL): starting another") ? true : undefined));
  for (let i = 0; i < 4; i++) {
    const health = await fetch(`${url}/health`, {
      headers: { connection: "close" },
      signal: AbortSignal.timeout(5000),
    });
    expect(health.status).toBe(200);
  }
  await eventually(() => (workerPids().length === WEB_WORKERS + 1 ? true : undefined), 30_000);
}, 60_000);

it("SIGTERM ends every web worker's subscriptions cleanly, stops every worker, then PostgreSQL, and exits 0", async () => {
  const streams: SubscriptionStream[] = [];
  for (let i = 0; i < 4; i++) streams.push(await subscribeSse(url, STATUS_SUBSCRIPTION, { bearer: annToken }));
  await eventually(async () => ((await metric("ordergate_open_subscriptions")) === 4 ? true : undefined));
  const workers = workerPids();
  const exited = new Promise<number | null>((resolve) => gateway.once("exit", (code) => resolve(code)));
  gateway.kill("SIGTERM");
  expect(await exited).toBe(0);
  for (const stream of streams) expect(await stream.ended).toEqual({ kind: "complete" });
  for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  const postgres = execFileSync("ps", ["-eo", "args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(dataDir));
  expect(postgres).toEqual([]);
}, 60_000);
