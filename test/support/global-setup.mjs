import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

/** Starts test/support/test-postgres.ts and hands its admin URL to the test files. */
export default async function globalSetup() {
  const root = path.resolve(import.meta.dirname, "../..");
  const child = spawn(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "test/support/test-postgres.ts")], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  globalThis.__ORDERGATE_TEST_POSTGRES__ = child;
  const line = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`test PostgreSQL exited with code ${code} before it was ready`)));
  });
  process.env.ORDERGATE_TEST_ADMIN_URL = JSON.parse(line).adminUrl;
}
