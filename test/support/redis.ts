import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import readline from "node:readline";
import { freePort } from "./wait";

/** Debian's redis-server, if installed (`.ci/run` installs it). */
export function redisServerPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A real Redis on a loopback port, in memory only, as a child of the test process. Can be stopped
 * and started again on the same port (an outage).
 */
export class TestRedis {
  private child: ChildProcess | undefined;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const binary = redisServerPath();
    if (!binary) throw new Error("redis-server is not installed (apt-get install -y redis-server)");
    this.port ||= await freePort();
    const child = spawn(
      binary,
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const lines = readline.createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        output += `${line}\n`;
        if (/Ready to accept connections/.test(line)) resolve();
      });
      child.once("exit", (code) =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
    });
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }
}
