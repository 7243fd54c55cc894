import pino from "pino";
import { ConfigError, loadConfig } from "../config";
import { type Db, openDatabase } from "../db/database";
import type { DatabaseKind } from "../db/migrate";
import { createLogger } from "../lib/logger";

/**
 * The database `npm start` uses (same settings, embedded or DATABASE_URL, running or not), open
 * for `work` and closed afterwards. Only warnings are logged unless LOG_LEVEL asks for more detail.
 */
export async function withStartDatabase<T>(work: (prisma: Db, kind: DatabaseKind) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // On stderr: a command's stdout is its output (a count, a list), not to be mixed with log lines.
  const logger = createLogger(
    config.logLevel === "info" ? "warn" : config.logLevel,
    pino.destination({ fd: 2, sync: true }),
  );
  const database = await openDatabase(config, logger);
  try {
    return await work(database.prisma, database.kind);
  } finally {
    await database.close();
  }
}

/**
 * Runs a command-line tool and exits with its code; a failure is printed (a bad setting without a
 * stack) and exits 1.
 */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `${name} failed: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`,
      );
      process.exit(1);
    },
  );
}
