import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { subscribe } from "./support/subscriptions";
import { sleep } from "./support/wait";

/**
 * `npm start` as an operator runs it: the embedded PostgreSQL under DATA_DIR, demo data, then a
 * clean exit on SIGTERM. Runs the compiled dist/main.js as the npm script does (`npm test` builds
 * it first), so the migrations and demo data are found from dist/ too; `npm run seed` runs through
 * tsx. Stopping through npm itself: process.test.ts.
 */
const ROOT = path.resolve(__dirname, "..");
const MAIN = path.join(ROOT, "dist/main.js");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const run = promisify(execFile);

let dataDir: string;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-start-"));
  fs.chmodSync(dataDir, 0o755); // the embedded server runs as the `postgres` OS user when we are root
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const env = () => ({
  ...process.env,
  DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "info",
  DATABASE_URL: "",
  SMTP_URL: "",
});

/** The gateway's log is what it writes to stdout; `errors` is its stderr. */
async function start(): Promise<{ child: ChildProcess; url: string; log: () => string; errors: () => string }> {
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${log}${errors}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const match = /ordergate listening on (http:\/\/[^\s"]+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}:\n${log}${errors}`)));
  });
  return { child, url, log: () => log, errors: () => errors };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

it("serves the demo data on the embedded database, joins it from `npm run seed`, and stops cleanly on SIGTERM", async () => {
  const first = await start();
  try {
    expect(first.log()).toContain("loaded demo data: 2 customers, 6 orders");
    const login = await fetch(`${first.url}/store/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ann@example.com", password: "correct horse" }),
    });
    expect(login.status).toBe(200);
    const graphiql = await fetch(`${first.url}/graphql`, { headers: { accept: "text/html" } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain("ordergate");
    // The pages' assets come from the build (dist/), as `npm start` runs it.
    const styles = await fetch(`${first.url}/claim/assets/pages.css`);
    expect(styles.status).toBe(200);
    expect(styles.headers.get("content-type")).toMatch(/^text\/css/);
    const script = await fetch(`${first.url}/claim/assets/claims.js`);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect(await script.text()).toContain("orderClaimUpdated");

    // The seed command finds the running embedded server and writes into the same database.
    const file = path.join(dataDir, "extra.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ orders: [{ id: "order_extra", display_id: 2001, email: "extra@example.com" }] }),
    );
    const seeded = await run(TSX, [path.join(ROOT, "src/cli/seed.ts"), file], { cwd: ROOT, env: env() });
    expect(seeded.stdout).toContain("seeded 0 customers and 1 orders");
    const lookup = await fetch(`${first.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: '{ orderLookup(displayId: 2001, email: "extra@example.com") { id } }' }),
    });
    expect(await lookup.json()).toEqual({ data: { orderLookup: { id: "order_extra" } } });
  } finally {
    expect(await stop(first.child)).toBe(0);
  }
  expect(fs.existsSync(path.join(dataDir, "postgres/postmaster.pid"))).toBe(false);
  // The log is JSON lines on stdout (twelve-factor's stream, pino's default), down to the last one.
  const lines = first.log().trimEnd().split("\n");
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  expect(JSON.parse(lines.at(-1)!).msg).toBe("ordergate stopped");
  expect(first.errors()).not.toContain('"msg"');

  // A restart keeps the data and does not load the demo again. SIGTERM ends open subscriptions
  // cleanly: SSE streams complete, WebSockets close with 1001 Going Away.
  const second = await start();
  try {
    expect(second.log()).not.toContain("loaded demo data");
    const login = await fetch(`${second.url}/store/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ann@example.com", password: "correct horse" }),
    });
    const { access_token: bearer } = (await login.json()) as { access_token: string };
    const query = "subscription { orderClaimUpdated { id status } }";
    const sse = await subscribe("sse", second.url, query, { bearer });
    const ws = await subscribe("ws", second.url, query, { bearer });
    await sleep(500);
    expect(await stop(second.child)).toBe(0);
    expect(await sse.ended).toEqual({ kind: "complete" });
    expect(await ws.ended).toEqual({ kind: "closed", code: 1001, reason: "Going away" });
  } finally {
    if (second.child.exitCode === null) await stop(second.child);
  }
}, 120_000);

it("refuses a bad setting with a message that names it", async () => {
  const failure = await run(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...env(), CLAIM_TOKEN_TTL: "forever" },
  }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toContain("CLAIM_TOKEN_TTL");
});
