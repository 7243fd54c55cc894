// First: source maps apply to the modules loaded after it.
import "./lib/source-maps";
import cluster from "node:cluster";
import { ConfigError, type Config, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import type { DatabaseKind } from "./db/migrate";
import { createLogger, type Logger } from "./lib/logger";
import {
  DATABASE_KIND_VARIABLE,
  ROLE_VARIABLE,
  Supervisor,
  type SupervisorMessage,
  WEB_URL_VARIABLE,
  type WorkerMessage,
} from "./app/supervisor";

/** SIGHUP too: a closed terminal must not orphan the embedded PostgreSQL. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** Set once the gateway has served: a failure after that is one of stopping, not of starting. */
let served = false;

/**
 * `npm start`: the primary process (src/app/supervisor.ts: the database, then the web and job
 * workers) serves until SIGTERM/SIGINT/SIGHUP, then stops the workers and the embedded PostgreSQL
 * and resolves (the process exits 0). A worker process runs its part of the gateway until the
 * primary tells it to stop, or a signal does.
 */
async function main(): Promise<void> {
  // Handled from the first moment, so that a signal during start-up (initdb, migrations) does not
  // kill this process and orphan the PostgreSQL it spawned: the step in progress finishes, then
  // what was started is stopped. Later signals change nothing, they only must not kill the process
  // mid-shutdown: a terminal's Ctrl-C reaches this process twice (from the terminal and forwarded
  // by npm), and reaches the workers too (one process group).
  let stopSignal: NodeJS.Signals | undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of STOP_SIGNALS) process.on(signal, () => resolve((stopSignal ??= signal)));
  });

  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (!cluster.isPrimary) return runWorker(config, logger, stopRequested);

  const supervisor = new Supervisor(config, logger);
  try {
    const url = await supervisor.start(() => stopSignal !== undefined);
    if (url === undefined) {
      logger.info(`${stopSignal} during start-up: stopping`);
    } else {
      logger.info(`ordergate listening on ${url} (Node.js ${process.version})`);
      logger.info(`GraphiQL: ${url}/graphql  ·  Medusa Store API: ${url}/store`);
      served = true;
      logger.info(`${await stopRequested}: draining requests and stopping`);
    }
  } finally {
    await supervisor.stop();
  }
  logger.info("ordergate stopped");
}

/** A worker: its part of the gateway (ORDERGATE_ROLE), until told to stop. */
async function runWorker(config: Config, logger: Logger, signalled: Promise<NodeJS.Signals>): Promise<void> {
  const told = new Promise<void>((resolve) => {
    process.on("message", (message: SupervisorMessage) => message?.ordergate === "stop" && resolve());
    // The primary is gone (killed): nothing will tell this worker to stop, and it must not serve on alone.
    process.once("disconnect", () => resolve());
  });
  // Migrated by the primary already: a worker (started again, too) only connects.
  const database = await openDatabase(config, logger, process.env[DATABASE_KIND_VARIABLE] as DatabaseKind);
  try {
    // Required here, not at the top: the primary serves nothing and needs none of it (its memory).
    const { createGateway } = require("./app/gateway") as typeof import("./app/gateway");
    const gateway = await createGateway(
      config,
      logger,
      database,
      process.env[ROLE_VARIABLE] === "jobs"
        ? { kind: "jobs", webUrl: process.env[WEB_URL_VARIABLE] ?? "" }
        : { kind: "web" },
    );
    const url = await gateway.listen();
    if (process.connected) process.send!({ ordergate: "ready", url } satisfies WorkerMessage);
    await Promise.race([told, signalled]);
    await gateway.close();
  } finally {
    await database.close();
  }
}

// process.exit: a library's leftover handle (a reconnect timer, say) must not keep a stopped
// gateway alive.
main().then(
  () => process.exit(0),
  (error) => {
    const reason = error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`ordergate ${served ? "failed while stopping" : "could not start"}: ${reason}\n`);
    process.exit(1);
  },
);
