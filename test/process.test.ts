import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { eventually, freePort } from "./support/wait";

/**
 * `npm start` stopped the way a process manager (a signal to npm's pid) or a terminal's Ctrl-C (a
 * signal to the whole foreground process group) stops it. npm 11 forwards SIGTERM and SIGINT to
 * its script's process and exits with that process's status; the gateway must then stop its
 * embedded PostgreSQL and exit 0. The real `npm start`, on dist/ (built by `npm test`).
 */
const ROOT = path.resolve(__dirname, "..");
const JWT_SECRET = "process-test-secret-0123456789";

let dataDir: string;
const started: Started[] = [];

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, "dist/main.js")))
    throw new Error("dist/main.js is missing: `npm run build` (npm test builds first)");
  dataDir = newDataDir();
});
afterEach(() => {
  // A failed test must not leave its gateway or PostgreSQL behind, even once npm itself has exited:
  // they are in npm's process group, which exists as long as one of them runs.
  for (const { npm } of started.splice(0)) {
    try {
      process.kill(-npm.pid!, "SIGKILL");
    } catch {
      // ESRCH: nothing left in the group
    }
  }
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-process-"));
  fs.chmodSync(dir, 0o755); // the embedded server runs as the `postgres` OS user when we are root
  return dir;
}

interface Started {
  npm: ChildProcess;
  port: number;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a shell runs it: its own process group, no NODE_ENV, no settings of the test run. */
async function npmStart(dir: string): Promise<Started> {
  const port = await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith("npm_") && !["NODE_ENV", "DATABASE_URL", "SMTP_URL", "REDIS_URL"].includes(name),
    ),
  );
  const env = { ...inherited, DATA_DIR: dir, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET, LOG_LEVEL: "info" };
  const npm = spawn("npm", ["start"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  npm.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  npm.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const self = { npm, port, log: () => log, exited };
  started.push(self);
  return self;
}

async function untilHealthy(s: Started): Promise<void> {
  await eventually(async () => {
    if (s.npm.exitCode !== null) throw new Error(`npm start exited with ${s.npm.exitCode}:\n${s.log()}`);
    const health = await fetch(`http://127.0.0.1:${s.port}/health`).catch(() => undefined);
    // The web workers serve before the job worker is up; the primary says so once both are.
    return health?.ok && s.log().includes("ordergate listening") ? true : undefined;
  }, 60_000);
}

/** Processes whose command line names `dir`: the postmaster (`postgres -D dir/postgres`), initdb. */
function processesUsing(dir: string): string[] {
  return fs.readdirSync("/proc").flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      return command.includes(dir) ? [`${pid}: ${command}`] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function expectStoppedCleanly(s: Started, dir: string): Promise<void> {
  expect(await s.exited).toEqual({ code: 0, signal: null });
  // Logged at the very end: the shutdown ran to completion, not into an emptied event loop.
  expect(s.log()).toContain("ordergate stopped");
  expect(await portAccepts(s.port)).toBe(false);
  expect(fs.existsSync(path.join(dir, "postgres/postmaster.pid"))).toBe(false);
  expect(processesUsing(dir)).toEqual([]);
}

/**
 * A GraphQL request whose body is still arriving, so that a shutdown has to wait for it; `finish`
 * sends the rest and resolves with the raw HTTP response. It resolves once the server has the
 * request's headers (its `100 Continue`): the connection is then a web worker's, not one the primary
 * is still handing over.
 */
async function requestInFlight(port: number): Promise<{ finish(): Promise<string> }> {
  const body = JSON.stringify({ query: "{ __typename }" });
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  let response = "";
  socket.on("data", (chunk: Buffer) => (response += chunk.toString()));
  const closed = once(socket, "close");
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Expect: 100-continue\r\nConnection: close\r\n\r\n`,
  );
  const interim = "HTTP/1.1 100 Continue\r\n\r\n";
  await eventually(() => (response.startsWith(interim) ? true : undefined));
  socket.write(body.slice(0, 5));
  return {
    async finish() {
      socket.write(body.slice(5));
      await closed;
      return response.slice(interim.length);
    },
  };
}

it.each(["SIGTERM", "SIGINT"] as const)(
  "%s to the npm process stops the gateway and its PostgreSQL, and npm exits 0",
  async (signal) => {
    const s = await npmStart(dataDir);
    await untilHealthy(s);
    // The server runs on the Node.js that runs this test (CI runs the suite on several versions).
    expect(s.log()).toContain(`ordergate listening on http://127.0.0.1:${s.port} (Node.js ${process.version})`);
    // The postmaster, so the check below can see it (a backend forked a moment ago still carries
    // the postmaster's command line until it renames itself: there may be more than one).
    expect(processesUsing(dataDir).length).toBeGreaterThanOrEqual(1);

    process.kill(s.npm.pid!, signal);
    await expectStoppedCleanly(s, dataDir);
    expect(s.log()).toContain(`${signal}: draining requests and stopping`);
  },
  90_000,
);

it("Ctrl-C in a terminal (SIGINT to the process group, PostgreSQL too) waits for the request in flight, then exits 0", async () => {
  const s = await npmStart(dataDir);
  await untilHealthy(s);
  const request = await requestInFlight(s.port);

  process.kill(-s.npm.pid!, "SIGINT");
  // PostgreSQL got the signal too and is gone; the gateway still drains the request.
  await eventually(() => (processesUsing(dataDir).length === 0 ? true : undefined));
  expect(s.npm.exitCode).toBeNull();
  expect(await request.finish()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"data":\{"__typename":"Query"\}\}$/);
  await expectStoppedCleanly(s, dataDir);
}, 90_000);

it("a second signal during the shutdown does not cut it short", async () => {
  const s = await npmStart(dataDir);
  await untilHealthy(s);
  const request = await requestInFlight(s.port);

  process.kill(s.npm.pid!, "SIGTERM");
  await eventually(() => (s.log().includes("SIGTERM: draining requests") ? true : undefined));
  process.kill(s.npm.pid!, "SIGINT");
  process.kill(s.npm.pid!, "SIGTERM");
  expect(await request.finish()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  await expectStoppedCleanly(s, dataDir);
}, 90_000);

it("SIGTERM during start-up (initdb) stops what was started, without serving, and exits 0", async () => {
  const dir = newDataDir();
  try {
    const s = await npmStart(dir);
    await eventually(() => (s.log().includes("initialising the embedded PostgreSQL") ? true : undefined), 60_000);
    process.kill(s.npm.pid!, "SIGTERM");
    await expectStoppedCleanly(s, dir);
    expect(s.log()).toContain("SIGTERM during start-up: stopping");
    expect(s.log()).not.toContain("ordergate listening");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
