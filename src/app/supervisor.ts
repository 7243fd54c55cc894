import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import path from "node:path";
import { RateLimiterClusterMaster } from "rate-limiter-flexible";
import { loadSeedFile } from "../cli/seed-file";
import type { Config } from "../config";
import { type Database, openDatabase } from "../db/database";
import { relayEventsBetweenWorkers } from "../events/process-relay";
import { serveClusterMetrics } from "../http/metrics";
import type { Logger } from "../lib/logger";
import { loadOrCreateJwtSecret } from "./jwt-secret";

const DEMO_SEED_FILE = path.resolve(__dirname, "../../seed/demo.json");

/** What a worker process is: ORDERGATE_ROLE, set by the supervisor when it starts one. */
export const ROLE_VARIABLE = "ORDERGATE_ROLE";
/** The database's kind (ordergate's own, or Medusa's), as the primary found it when it migrated it. */
export const DATABASE_KIND_VARIABLE = "ORDERGATE_DATABASE_KIND";
/** Where the web workers listen, for the job worker's email links. */
export const WEB_URL_VARIABLE = "ORDERGATE_WEB_URL";

/** What a worker tells the primary: it serves (web: at `url`), or it stopped on its own. */
export type WorkerMessage = { ordergate: "ready"; url: string };
/** What the primary tells a worker. */
export type SupervisorMessage = { ordergate: "stop" };

/** A worker that dies is started again after this long (not at once: a crash loop must not spin). */
const RESTART_DELAY_MS = 1000;

/**
 * The primary process of `npm start`: starts the database (the embedded PostgreSQL, migrations,
 * the demo data), then WEB_CONCURRENCY web workers that share the port (Node's cluster) and one job
 * worker (the outbox's mail and events, the expiry sweep, the purge), relays events and metrics
 * between them, starts a worker again when it dies, and on `stop` stops the web workers (they
 * drain their requests), then the job worker, then the database. Serves nothing itself.
 */
export class Supervisor {
  private database: Database | undefined;
  private stopping = false;
  private webUrl = "";
  private readonly roles = new Map<Worker, string>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  /** Resolves once every worker serves, with where the web workers listen. */
  async start(stopRequested: () => boolean): Promise<string | undefined> {
    const { config, logger } = this;
    const database = (this.database = await openDatabase(config, logger));
    // Never on a Medusa store's database: its orders are Medusa's to make.
    if (
      config.seedDemo &&
      database.kind === "ordergate" &&
      (await database.prisma.order.count()) === 0 &&
      (await database.prisma.customer.count()) === 0
    ) {
      const result = await loadSeedFile(database.prisma, DEMO_SEED_FILE);
      logger.info(`loaded demo data: ${result.customers} customers, ${result.orders} orders (SEED_DEMO=false to skip)`);
    }
    // Made here, once: the workers all read the same file.
    if (!config.jwtSecret) await loadOrCreateJwtSecret(config.dataDir, logger);
    if (stopRequested()) return undefined;

    relayEventsBetweenWorkers();
    serveClusterMetrics();
    new RateLimiterClusterMaster();
    cluster.on("exit", (worker, code, signal) => this.onExit(worker, code, signal));
    const web = await Promise.all(Array.from({ length: config.webConcurrency }, () => this.startWorker("web")));
    this.webUrl = web[0]!;
    await this.startWorker("jobs");
    return this.webUrl;
  }

  /** Stops the web workers (their requests drain), then the job worker, then the database. */
  async stop(): Promise<void> {
    this.stopping = true;
    const workers = [...this.roles];
    await Promise.all(workers.filter(([, role]) => role === "web").map(([worker]) => stopWorker(worker)));
    await Promise.all(workers.filter(([, role]) => role !== "web").map(([worker]) => stopWorker(worker)));
    await this.database?.close();
  }

  private async startWorker(role: "web" | "jobs"): Promise<string> {
    const worker = cluster.fork({
      [ROLE_VARIABLE]: role,
      // The workers join the database the primary started (or DATABASE_URL's).
      DATABASE_URL: this.database!.url,
      [DATABASE_KIND_VARIABLE]: this.database!.kind,
      ...(role === "jobs" ? { [WEB_URL_VARIABLE]: this.webUrl } : {}),
    });
    this.roles.set(worker, role);
    const ready = new Promise<string>((resolve, reject) => {
      worker.on("message", (message: WorkerMessage) => {
        if (message?.ordergate === "ready") resolve(message.url);
      });
      worker.once("exit", (code, signal) =>
        reject(new Error(`the ${role} worker exited (${signal ?? code}) while starting`)),
      );
    });
    return ready;
  }

  private onExit(worker: Worker, code: number, signal: string | null): void {
    const role = this.roles.get(worker);
    this.roles.delete(worker);
    // Exit code 0: it was told to stop, or a signal to the whole process group (a terminal's Ctrl-C) stopped it.
    if (this.stopping || !role || (code === 0 && !signal)) return;
    this.logger.error(`the ${role} worker died (${signal ?? `exit code ${code}`}): starting another`);
    setTimeout(() => {
      if (this.stopping) return;
      this.startWorker(role as "web" | "jobs").catch((error: Error) =>
        this.logger.error(`could not start another ${role} worker`, error),
      );
    }, RESTART_DELAY_MS);
  }
}

/** Tells a worker to stop and waits until it has exited. */
async function stopWorker(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = once(worker, "exit");
  if (worker.isConnected()) worker.send({ ordergate: "stop" } satisfies SupervisorMessage, undefined, () => {});
  else worker.process.kill("SIGTERM");
  await exited;
}
