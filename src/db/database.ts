import { PrismaPg } from "@prisma/adapter-pg";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { startEmbeddedPostgres } from "./embedded";
import { PrismaClient } from "./generated/prisma/client";
import { applyMigrations } from "./migrate";

export type Db = PrismaClient;
export { Prisma } from "./generated/prisma/client";

export interface Database {
  prisma: PrismaClient;
  close(): Promise<void>;
}

export function createPrismaClient(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

/** Connects to `DATABASE_URL`, or to the embedded server when it is unset; applies migrations. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, logger);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    await applyMigrations(url, logger);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const prisma = createPrismaClient(url);
  return {
    prisma,
    async close() {
      await prisma.$disconnect();
      await embedded?.stop();
    },
  };
}
