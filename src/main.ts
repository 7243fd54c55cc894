import path from "node:path";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { createLogger } from "./logger";
import { createGateway } from "./server";
import { loadSeedFile } from "./cli/seed-file";

export const DEMO_SEED_FILE = path.resolve(__dirname, "../seed/demo.json");

/** `npm start`: migrations, demo data on an empty database, then serve until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

  const database = await openDatabase(config, logger);
  try {
    if (config.seedDemo && (await database.prisma.order.count()) === 0 && (await database.prisma.customer.count()) === 0) {
      const result = await loadSeedFile(database.prisma, DEMO_SEED_FILE);
      logger.info(`loaded demo data: ${result.customers} customers, ${result.orders} orders (SEED_DEMO=false to skip)`);
    }
    const gateway = await createGateway(config, logger, database);
    const url = await gateway.listen();
    logger.info(`ordergate listening on ${url}`);
    logger.info(`GraphiQL: ${url}/graphql  ·  Medusa Store API: ${url}/store`);

    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: draining requests and stopping`);
      gateway
        .close()
        .then(() => database.close())
        .then(() => process.exit(0))
        .catch((error) => {
          logger.error("shutdown failed", error);
          process.exit(1);
        });
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

main().catch((error) => {
  process.stderr.write(`ordergate could not start: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(1);
});
