import { ConfigError, loadConfig } from "../config";
import { openDatabase } from "../db/database";
import { createLogger } from "../logger";
import { SeedError } from "../services/seed-service";
import { loadSeedFile } from "./seed-file";

/** `npm run seed -- FILE.json`: same settings and database as `npm start`, running or not. */
async function main(): Promise<number> {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write("usage: npm run seed -- FILE.json\n");
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const database = await openDatabase(config, logger);
  try {
    const result = await loadSeedFile(database.prisma, file);
    process.stdout.write(`seeded ${result.customers} customers and ${result.orders} orders from ${file}\n`);
    return 0;
  } catch (error) {
    if (error instanceof SeedError) {
      process.stderr.write(`seed refused, nothing was written:\n${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`seed failed: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(1);
  },
);
