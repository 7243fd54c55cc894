import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { freePort } from "./wait";

const ROOT = path.resolve(__dirname, "../..");

/**
 * A PostgreSQL server of a test's own (not the run's shared one), so the test can stop it and
 * start it again on the same port: a real database outage.
 */
export class OutagePostgres {
  private readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-outage-pg-"));
  private child: ChildProcess | undefined;
  private port = 0;
  url = "";

  async start(): Promise<this> {
    this.port ||= await freePort();
    // Readable by the `postgres` OS user the server runs as when the tests run as root (CI).
    fs.chmodSync(this.dataDir, 0o755);
    const child = spawn(
      path.join(ROOT, "node_modules/.bin/tsx"),
      [path.join(__dirname, "outage-postgres-server.ts"), this.dataDir, String(this.port)],
      {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    this.child = child;
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) =>
        reject(new Error(`the outage PostgreSQL exited with code ${code} before it was ready`)),
      );
    });
    this.url = (JSON.parse(line) as { url: string }).url;
    return this;
  }

  /** Stops the server (a fast shutdown: every connection is ended) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.stdin!.end();
    });
  }

  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
