import { TestMedusa } from "../../test/support/medusa";
import type { BenchDatabase } from "./database";

/**
 * The Medusa v1 test server, migrated, seeded and started with a database of its own on the
 * bench's PostgreSQL server (TestMedusa makes its database on the server the test run's admin URL
 * names: the bench's, by another name).
 */
export async function startBenchMedusa(database: BenchDatabase, jwtSecret: string): Promise<TestMedusa> {
  const admin = new URL(database.url);
  admin.pathname = "/postgres";
  process.env.ORDERGATE_TEST_ADMIN_URL = admin.toString();
  return (await TestMedusa.create(jwtSecret)).start();
}

/** A gateway's settings in front of the bench's Medusa, on Medusa's own database, as a shop runs it. */
export function inFrontOfMedusa(medusa: TestMedusa, jwtSecret: string, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATABASE_URL: medusa.databaseUrl,
    MEDUSA_URL: medusa.url,
    JWT_SECRET: jwtSecret,
    PUBLIC_URL: "http://localhost",
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    RATE_LIMITS: "off",
  };
}
