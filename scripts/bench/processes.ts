import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "../../test/support/wait";

const ROOT = path.resolve(__dirname, "../..");

/** Clock ticks per second of the utime/stime fields in /proc/<pid>/stat (100 almost everywhere). */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** A child process the bench started, with its output (the gateway logs JSON lines on stdout). */
export interface Child {
  process: ChildProcess;
  pid: number;
  /** Set once the process has exited, with its exit code or signal. */
  exited: string | undefined;
  /** stdout and stderr, as complete lines, each stream's in order. */
  outputLines: string[];
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function track(child: ChildProcess): Child {
  if (child.pid === undefined) throw new Error(`could not start ${child.spawnfile}`);
  const tracked: Child = {
    process: child,
    pid: child.pid,
    exited: undefined,
    outputLines: [],
    async stop(graceMs = 10_000) {
      if (tracked.exited) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  child.once("exit", (code, signal) => (tracked.exited = signal ?? `exit code ${code}`));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop()!;
      tracked.outputLines.push(...lines);
    });
  }
  return tracked;
}

/** The Node options of `npm start` (`exec node OPTIONS dist/main.js` in package.json), so the bench runs what ships. */
export function startScriptNodeOptions(): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start;
  const match = /^exec node((?: --[^ ]+)*) dist\/main\.js$/.exec(start);
  if (!match) throw new Error(`package.json's start script is not "exec node [OPTIONS] dist/main.js": ${start}`);
  return match[1]!.trim().split(" ").filter(Boolean);
}

/**
 * The compiled gateway as `npm start` runs it (its Node options read from package.json), with the
 * environment given and nothing inherited but PATH; resolves once `/ready` answers 200.
 */
export async function startGateway(
  env: Record<string, string>,
  options: { profileDir?: string } = {},
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const profiling = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(options.profileDir)}`] : [];
  const child = track(
    spawn(process.execPath, [...startScriptNodeOptions(), ...profiling, path.join(ROOT, "dist/main.js")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  // LOG_LEVEL=warn hides the `listening` line, so readiness is asked for.
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exited)
      throw new Error(`the gateway exited (${child.exited}) before it was ready:\n${child.outputLines.join("\n")}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`the gateway was not ready within 60 s:\n${child.outputLines.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url };
}

/** What the ceiling runs: the least a Node.js HTTP server can do per request. */
const CEILING_SOURCE = `
const server = require("node:http").createServer((req, res) => {
  req.resume();
  res.setHeader("content-type", "application/json");
  res.end("{}");
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/** The bare `node:http` server, in its own process so that it does not share the bench's event loop. */
export async function startCeiling(): Promise<{ child: Child; url: string }> {
  const child = track(spawn(process.execPath, ["-e", CEILING_SOURCE], { stdio: ["ignore", "pipe", "pipe"] }));
  const port = await new Promise<string>((resolve, reject) => {
    child.process.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.process.once("exit", () => reject(new Error(`the ceiling server exited: ${child.outputLines.join("\n")}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: the CPU of children that exited and were waited for. */
  children: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces: the state
  // is field 3, so field n is at index n - 3.
  const fields = text
    .slice(text.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return { ppid: fields[1]!, own: fields[11]! + fields[12]!, children: fields[13]! + fields[14]! };
}

const ticksToMs = (ticks: number) => (ticks * 1000) / CLOCK_TICKS;

/** CPU time (user + system, all threads) the process has used so far, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readStat(pid);
  return stat ? ticksToMs(stat.own) : Number.NaN;
}

/**
 * CPU time of a PostgreSQL server so far, in ms: the postmaster, its live children (backends,
 * background workers) and the children that already exited (the postmaster waited for them, so
 * the kernel added them to its cutime/cstime). A backend that exits between two readings is thus
 * still counted once.
 */
export function postgresCpuMs(postmasterPid: number): number {
  const postmaster = readStat(postmasterPid);
  if (!postmaster) return Number.NaN;
  let ticks = postmaster.own + postmaster.children;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === postmasterPid) ticks += stat.own;
  }
  return ticksToMs(ticks);
}

/** Resident memory of a process, in bytes: now (VmRSS) or its peak so far (VmHWM). */
export function residentBytes(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The postmaster's pid, from the first line of `postmaster.pid` in its data directory. */
export function postmasterPid(databaseDir: string): number {
  const pid = Number(fs.readFileSync(path.join(databaseDir, "postmaster.pid"), "utf8").split("\n")[0]);
  if (!Number.isInteger(pid)) throw new Error(`no postmaster pid in ${databaseDir}/postmaster.pid`);
  return pid;
}

/** Polls a process's RSS every 100 ms: the peak since the last `reset()`. */
export class RssSampler {
  private timer: NodeJS.Timeout;
  peak = 0;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  sample(): void {
    const rss = residentBytes(this.pid);
    if (rss > this.peak) this.peak = rss;
  }

  /** The peak since the last reset, and starts a new period. */
  reset(): number {
    this.sample();
    const peak = this.peak;
    this.peak = 0;
    return peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
