import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import readline from "node:readline";

/**
 * Ports below Linux's ephemeral range (32768-60999), a band per jest worker: a port the kernel
 * hands out for `listen(0)` or an outgoing connection (ioredis reconnecting to a stopped Redis can
 * even connect to itself) is never one of these, and two workers never choose the same one.
 */
function candidatePort(): number {
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return 20_000 + ((worker - 1) % 50) * 200 + Math.floor(Math.random() * 200);
}

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
    if (this.port) {
      // Started again after an outage: the clients know this port.
      await this.spawn(binary, this.port);
      return this;
    }
    for (let attempt = 1; ; attempt++) {
      const port = candidatePort();
      try {
        await this.spawn(binary, port);
        this.port = port;
        return this;
      } catch (error) {
        // Something else on the machine holds the port: take another.
        if (attempt >= 10 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }

  private async spawn(binary: string, port: number): Promise<void> {
    const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
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
