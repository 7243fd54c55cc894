import path from "node:path";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { createLogger } from "./lib/logger";
import { createGateway } from "./app/gateway";
import { loadSeedFile } from "./cli/seed-file";

const DEMO_SEED_FILE = path.resolve(__dirname, "../seed/demo.json");

/** SIGHUP too: a closed terminal must not orphan the embedded PostgreSQL. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** Set once the gateway has served: a failure after that is one of stopping, not of starting. */
let served = false;

/**
 * `npm start`: migrations, demo data on an empty database, then serve until SIGTERM/SIGINT/SIGHUP; then
 * drain, stop the embedded PostgreSQL and resolve (the process exits 0).
 */
async function main(): Promise<void> {
  // Handled from the first moment, so that a signal during start-up (initdb, migrations) does not
  // kill this process and orphan the PostgreSQL it spawned: the step in progress finishes, then
  // what was started is stopped. Later signals change nothing, they only must not kill the process
  // mid-shutdown: a terminal's Ctrl-C reaches this process twice (from the terminal and forwarded
  // by npm).
  let stopSignal: NodeJS.Signals | undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of STOP_SIGNALS) process.on(signal, () => resolve((stopSignal ??= signal)));
  });

  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, logger);
  try {
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
    if (stopSignal) {
      logger.info(`${stopSignal} during start-up: stopping`);
    } else {
      const gateway = await createGateway(config, logger, database);
      const url = await gateway.listen();
      logger.info(`ordergate listening on ${url} (Node.js ${process.version})`);
      logger.info(`GraphiQL: ${url}/graphql  ·  Medusa Store API: ${url}/store`);
      served = true;
      logger.info(`${await stopRequested}: draining requests and stopping`);
      await gateway.close();
    }
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
  await database.close();
  logger.info("ordergate stopped");
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
