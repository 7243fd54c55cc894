/**
 * Runs in its own process for the whole test run: starts the embedded PostgreSQL (or uses the
 * server in TEST_DATABASE_URL), builds a migrated template database, prints one JSON line with
 * the connection details, then keeps the server up until stdin closes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { startEmbeddedPostgres } from "../../src/db/embedded";
import { applyMigrations } from "../../src/db/migrate";
import { createLogger } from "../../src/lib/logger";
import { TEMPLATE_DATABASE } from "./database-names";

async function main() {
  const logger = createLogger("warn");
  const external = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  let serverUrl: string;
  let dataDir: string | undefined;
  if (external) {
    serverUrl = external;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-test-pg-"));
    fs.chmodSync(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres(dataDir, logger);
    serverUrl = embedded.url;
    stop = embedded.stop;
  }
  const admin = new URL(serverUrl);
  admin.pathname = "/postgres";
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await client.end();
  const template = new URL(serverUrl);
  template.pathname = `/${TEMPLATE_DATABASE}`;
  await applyMigrations(template.toString(), logger);

  process.stdout.write(`${JSON.stringify({ adminUrl: admin.toString() })}\n`);
  const shutdown = async () => {
    await stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`test database could not start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
