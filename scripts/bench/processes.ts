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
  /**
   * SIGTERM, then SIGKILL if it has not exited after `graceMs`; then SIGKILL to any of its
   * descendants still running (a worker orphaned by its primary would hold the port and the database).
   */
  stop(graceMs?: number): Promise<void>;
}

const isAlive = (pid: number) => readStat(pid) !== undefined;

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone meanwhile
  }
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
      const descendants = processTree(child.pid!).slice(1);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        descendants.push(...processTree(child.pid!).slice(1));
        child.kill("SIGKILL");
      }, graceMs);
      await exited;
      clearTimeout(timer);
      const deadline = Date.now() + 1000;
      while (descendants.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const pid of descendants.filter(isAlive)) kill(pid, "SIGKILL");
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

export interface ProcStat {
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

/** Every process's /proc/<pid>/stat, read once: several trees are then summed from the same moment. */
export function scanProcesses(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) table.set(Number(entry), stat);
  }
  return table;
}

/** A process and its live descendants (followed by ppid), root first; empty once the root is gone. */
export function processTree(rootPid: number, table = scanProcesses()): number[] {
  if (!table.has(rootPid)) return [];
  const children = new Map<number, number[]>();
  for (const [pid, stat] of table) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

const ticksToMs = (ticks: number) => (ticks * 1000) / CLOCK_TICKS;

/** CPU time (user + system, all threads) the process has used so far, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readStat(pid);
  return stat ? ticksToMs(stat.own) : Number.NaN;
}

/**
 * CPU time of a process tree so far, in ms: the root and each live descendant (cluster workers, a
 * job worker, PostgreSQL's backends), each with its own time and its cutime/cstime, the time of its
 * children that exited and were waited for (the kernel adds a child's own cutime in too). A process
 * that exits between two readings is thus still counted once, in its parent's. NaN once the root is gone.
 */
export function treeCpuMs(rootPid: number, table = scanProcesses()): number {
  const tree = processTree(rootPid, table);
  if (tree.length === 0) return Number.NaN;
  return ticksToMs(tree.reduce((ticks, pid) => ticks + table.get(pid)!.own + table.get(pid)!.children, 0));
}

/** CPU time of a PostgreSQL server so far, in ms: the postmaster's tree (see treeCpuMs). */
export const postgresCpuMs = (postmasterPid: number): number => treeCpuMs(postmasterPid);

/** Resident memory of a process, in bytes: now (VmRSS) and its peak so far (VmHWM); undefined once it is gone. */
function memory(pid: number): { rss: number; hwm: number } | undefined {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kB = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM") };
}

/** A process's arguments (empty once it is gone). */
export function commandLine(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** What a process runs, briefly: its script (relative to the repo when in it), else its command. */
function describeProcess(pid: number): string {
  const argv = commandLine(pid);
  const script = argv.slice(1).find((arg) => !arg.startsWith("-")) ?? argv[0] ?? "?";
  const relative = path.relative(ROOT, script);
  return relative.startsWith("..") ? path.basename(script) : relative;
}

/** The postmaster's pid, from the first line of `postmaster.pid` in its data directory. */
export function postmasterPid(databaseDir: string): number {
  const pid = Number(fs.readFileSync(path.join(databaseDir, "postmaster.pid"), "utf8").split("\n")[0]);
  if (!Number.isInteger(pid)) throw new Error(`no postmaster pid in ${databaseDir}/postmaster.pid`);
  return pid;
}

/** A process of a tree and its peak resident memory (VmHWM, or the highest VmRSS sampled once it is gone). */
export interface ProcessPeak {
  pid: number;
  /** Its script, and whether it is the root the bench spawned or whose child it is. */
  process: string;
  peakRssBytes: number;
}

/**
 * Polls the resident memory of a process and its descendants (cluster workers, a job worker) every
 * 100 ms, finding the tree's members again every second (a /proc scan costs the load generator
 * about a millisecond): the largest process's peak since the last `reset()`, each process's peak
 * over the whole bench, and the peak of their sum.
 */
export class RssSampler {
  private timer: NodeJS.Timeout;
  private members: number[] = [];
  private ticks = 0;
  private readonly processes = new Map<number, ProcessPeak>();
  /** The largest single process's RSS since the last reset. */
  peak = 0;
  /** The tree's summed RSS at its highest sample. */
  peakTotal = 0;

  constructor(private readonly rootPid: number) {
    this.findMembers();
    this.timer = setInterval(() => {
      if (++this.ticks % 10 === 0) this.findMembers();
      this.sample();
    }, 100);
    this.timer.unref();
  }

  private findMembers(): void {
    const table = scanProcesses();
    this.members = processTree(this.rootPid, table);
    for (const pid of this.members) {
      if (this.processes.has(pid)) continue;
      const parent = table.get(pid)!.ppid;
      const role = pid === this.rootPid ? "the process the bench started" : `child of ${parent}`;
      this.processes.set(pid, { pid, process: `${describeProcess(pid)} (${role})`, peakRssBytes: 0 });
    }
  }

  sample(): void {
    let total = 0;
    for (const pid of this.members) {
      const now = memory(pid);
      // Gone, or a zombie (no VmRSS) until its parent reaps it.
      if (!now || Number.isNaN(now.rss)) continue;
      total += now.rss;
      if (now.rss > this.peak) this.peak = now.rss;
      const peak = this.processes.get(pid)!;
      peak.peakRssBytes = Math.max(peak.peakRssBytes, now.rss, Number.isNaN(now.hwm) ? 0 : now.hwm);
    }
    if (total > this.peakTotal) this.peakTotal = total;
  }

  /** The largest process's peak since the last reset, and starts a new period. */
  reset(): number {
    this.sample();
    const peak = this.peak;
    this.peak = 0;
    return peak;
  }

  /** Every process seen in the tree, with its peak so far, root first. */
  processPeaks(): ProcessPeak[] {
    this.findMembers();
    this.sample();
    // Copies: sampling goes on until the bench stops.
    return [...this.processes.values()].map((peak) => ({ ...peak }));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
