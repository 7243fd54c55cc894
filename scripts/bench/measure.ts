import autocannon from "autocannon";
import { getInTurn, type InTurnAnswers } from "./in-turn";
import type { RunMail } from "./mail";
import { type RssSampler, scanProcesses, treeCpuMs } from "./processes";
import type { Server, Target } from "./targets";

export interface RunSettings {
  durationS: number;
  connections: number;
}

/** The processes a run reads CPU and memory of. */
export interface Monitors {
  /** Medusa and the gateway in front of it only when they run (see TargetContext.medusa). */
  urls: Partial<Record<Server, string>>;
  /** Each server's root process: its CPU is its whole tree's. */
  pids: Partial<Record<Server, number>>;
  /** Unset for an external DATABASE_URL: its server's processes are not ours to read. */
  postmasterPid: number | undefined;
  /** The gateway's process tree's RSS. */
  rss: RssSampler;
}

export interface RunResult {
  target: string;
  /** 0 for the warm-up. */
  pass: number;
  /** Why the run did not happen (confirm: too few tokens). */
  skipped?: string;
  /** Why the run ended before its duration (confirm: tokens used up). */
  stoppedEarly?: string;
  durationS: number;
  requests: number;
  rps: number;
  /** autocannon's, in whole milliseconds (exactLatencyMs's, rounded, for a run in turn). */
  p50Ms: number;
  p99Ms: number;
  /** Targets with `exactLatency`: the bench's own timing of every response, in fractional ms. */
  exactLatencyMs?: { p50: number; p99: number };
  statusCodes: Record<string, number>;
  "2xx": number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx answers whose body said the operation failed (GraphQL). */
  mismatches: number;
  /**
   * CPU time each process tree used during the run, in ms (null: not running): the gateway also
   * works in the background (mail) while other targets run, and the bench process is the load
   * generator (and the SMTP sink).
   */
  cpuMs: CpuReading;
  /**
   * CPU time per completed request: the serving process trees (the target's `cpuOf`), and
   * PostgreSQL (every target but the ceiling).
   */
  cpuMsPerRequest: { node: number; postgres: number | null };
  /** The peak RSS of the gateway's largest process during the run. */
  gatewayPeakRssBytes: number;
  /** `Date.now()` when the run ended. */
  endedAt: number;
  /**
   * Claim runs: seconds after the run ended until the outbox had sent everything (every email
   * of the run's claims); null if it had not within MAIL_DRAIN_LIMIT_MS. The next run starts after.
   */
  mailDrainedAfterS?: number | null;
  /** Claim runs: the CPU the gateway and PostgreSQL used while that mail went out, in ms. */
  mailDrainCpuMs?: { gateway: number; postgres: number | null };
  /**
   * Claim runs: claims the run opened, each owed an email (counted in the database before the run
   * and after its mail-out). A claim of orders no longer claimable is answered 2xx all the same
   * but opens none: only this says whether the run's requests did the work.
   */
  claimsOpened?: number;
  /** Claim runs: claims superseded meanwhile (by the run's newer claims of the same orders). */
  claimsSuperseded?: number;
  /** Claim runs: orders a confirm had moved, put back as guest orders before the run (not measured). */
  ordersRestored?: number;
  /** Claim runs: whether the mail kept up with the claims the run opened (see `runMail`). */
  mail?: RunMail;
}

export type CpuReading = { gateway: number; ceiling: number } & Record<"medusa" | "forwarder", number | null> & {
    postgres: number | null;
    bench: number;
  };

/** CPU time each monitored process tree (and this process, the load generator) has used so far, in ms. */
function readCpu(monitors: Monitors): CpuReading {
  const own = process.cpuUsage();
  const table = scanProcesses();
  const tree = (pid: number | undefined) => (pid === undefined ? null : treeCpuMs(pid, table));
  return {
    gateway: tree(monitors.pids.gateway)!,
    ceiling: tree(monitors.pids.ceiling)!,
    medusa: tree(monitors.pids.medusa),
    forwarder: tree(monitors.pids.forwarder),
    postgres: tree(monitors.postmasterPid),
    bench: (own.user + own.system) / 1000,
  };
}

function cpuBetween(before: CpuReading, after: CpuReading): CpuReading {
  const between = (key: keyof CpuReading) => {
    const [a, b] = [after[key], before[key]];
    return a === null || b === null ? null : a - b;
  };
  return {
    gateway: between("gateway")!,
    ceiling: between("ceiling")!,
    medusa: between("medusa"),
    forwarder: between("forwarder"),
    postgres: between("postgres"),
    bench: between("bench")!,
  };
}

/** The p-th percentile (0-100) of some values, interpolated. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const at = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(at);
  return sorted[below]! + (sorted[Math.min(below + 1, sorted.length - 1)]! - sorted[below]!) * (at - below);
}

/**
 * Waits for the mail a claim run queued (`drain`: seconds until the outbox is empty, null if it
 * never was) and records on the run how long it took and the CPU the gateway and PostgreSQL spent.
 */
export async function measureMailDrain(
  result: RunResult,
  monitors: Monitors,
  drain: () => Promise<number | null>,
): Promise<void> {
  const before = readCpu(monitors);
  result.mailDrainedAfterS = await drain();
  const { gateway, postgres } = cpuBetween(before, readCpu(monitors));
  result.mailDrainCpuMs = { gateway, postgres };
}

/** Runs one target with autocannon and reads the servers' CPU and memory around it. */
export async function runTarget(
  target: Target,
  pass: number,
  settings: RunSettings,
  monitors: Monitors,
  signal: AbortSignal,
): Promise<RunResult> {
  if (target.unavailable) return emptyRun(target, pass, target.unavailable);
  const url = monitors.urls[target.server];
  if (!url) throw new Error(`no ${target.server} to run ${target.name} against`);
  const connections = target.connections ?? settings.connections;
  const budget = target.budget?.();
  if (budget !== undefined && budget < connections) {
    return emptyRun(target, pass, `only ${budget} unused tokens (fewer than the ${connections} connections)`);
  }
  const latencies: number[] = [];
  monitors.rss.reset();
  const before = readCpu(monitors);
  const started = Date.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    let instance: autocannon.Instance | undefined;
    const stop = () => instance?.stop();
    const timer = setTimeout(stop, settings.durationS * 1000);
    signal.addEventListener("abort", stop);
    instance = autocannon(
      {
        url,
        connections,
        requests: [target.request],
        verifyBody: target.verifyBody,
        // autocannon notices the end of a run at its next sample: every 100 ms, not every second,
        // so a run that ends early (confirm out of tokens) is not padded with up to a second idle.
        sampleInt: 100,
        // With `amount`, autocannon ignores the duration: the timer ends the run then.
        ...(budget !== undefined ? { amount: budget } : { duration: settings.durationS }),
      },
      (error, done) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
        if (error) reject(error);
        else resolve(done);
      },
    );
    // autocannon's percentiles are whole milliseconds (its histogram's unit); each response's own
    // time is measured with hrtime, to a fraction of one.
    if (target.exactLatency) instance.on("response", (_client, _status, _bytes, ms: number) => latencies.push(ms));
  });
  const requests = result.requests.total;
  const cpuMs = cpuBetween(before, readCpu(monitors));
  const perRequest = (ms: number | null) => (ms === null || requests === 0 ? null : ms / requests);
  const servingMs = (target.cpuOf ?? [target.server]).reduce((total, server) => total + (cpuMs[server] ?? NaN), 0);
  const elapsedS = (Date.now() - started) / 1000;
  return {
    target: target.name,
    pass,
    ...(budget !== undefined && elapsedS < settings.durationS - 0.5
      ? { stoppedEarly: `used all ${budget} tokens available at its start` }
      : {}),
    durationS: result.duration,
    requests,
    rps: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ...(target.exactLatency
      ? { exactLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } }
      : {}),
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0]),
    ),
    "2xx": result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    mismatches: result.mismatches,
    cpuMs,
    cpuMsPerRequest: {
      node: perRequest(servingMs) ?? Number.NaN,
      postgres: target.server === "ceiling" ? null : perRequest(cpuMs.postgres),
    },
    gatewayPeakRssBytes: monitors.rss.reset(),
    endedAt: Date.now(),
  };
}

/**
 * Runs two GET targets in one window at one connection each, a request to each in turn
 * (`Target.inTurnWith`). CPU per request: a server both reach (Medusa behind its forwarder) is
 * shared over every request of the window; one only `first` or `second` reaches, over its own.
 */
export async function runInTurn(
  pair: [Target, Target],
  pass: number,
  durationS: number,
  monitors: Monitors,
  signal: AbortSignal,
): Promise<[RunResult, RunResult]> {
  const unavailable = pair.find((target) => target.unavailable)?.unavailable;
  if (unavailable) return [emptyRun(pair[0], pass, unavailable), emptyRun(pair[1], pass, unavailable)];
  const urls = pair.map((target) => {
    const url = monitors.urls[target.server];
    if (!url) throw new Error(`no ${target.server} to run ${target.name} against`);
    const { method, path, headers, body, setupRequest } = target.request;
    // Both servers are asked the same plain GET: nothing per request, nothing to verify in the body.
    if ((method ?? "GET") !== "GET" || headers || body || setupRequest || target.verifyBody)
      throw new Error(`${target.name}: only a plain GET runs in turn`);
    if (path !== pair[0].request.path) throw new Error(`${target.name}: a pair in turn asks both the same path`);
    return url;
  });
  monitors.rss.reset();
  const before = readCpu(monitors);
  const started = performance.now();
  const answers = await getInTurn(urls, pair[0].request.path!, durationS, signal);
  const elapsedS = (performance.now() - started) / 1000;
  const cpuMs = cpuBetween(before, readCpu(monitors));
  const gatewayPeakRssBytes = monitors.rss.reset();
  const all = answers.reduce((sum, answered) => sum + answered.latenciesMs.length, 0);
  const servingOf = (target: Target) => target.cpuOf ?? [target.server];
  const reachedByBoth = (server: Server) => pair.every((target) => servingOf(target).includes(server));
  const result = (target: Target, answered: InTurnAnswers): RunResult => {
    const requests = answered.latenciesMs.length;
    const servingMs = servingOf(target).reduce(
      (total, server) => total + (cpuMs[server] ?? NaN) / (reachedByBoth(server) ? all : requests),
      0,
    );
    const twoHundreds = Object.entries(answered.statusCodes)
      .filter(([code]) => code.startsWith("2"))
      .reduce((sum, [, count]) => sum + count, 0);
    const p50 = percentile(answered.latenciesMs, 50);
    const p99 = percentile(answered.latenciesMs, 99);
    return {
      target: target.name,
      pass,
      durationS: elapsedS,
      requests,
      // Each server's share of the window: about half of what it would serve alone.
      rps: requests / elapsedS,
      p50Ms: Math.round(p50),
      p99Ms: Math.round(p99),
      exactLatencyMs: { p50, p99 },
      statusCodes: answered.statusCodes,
      "2xx": twoHundreds,
      non2xx: requests - twoHundreds,
      errors: answered.errors,
      mismatches: 0,
      cpuMs,
      cpuMsPerRequest: {
        node: requests === 0 ? Number.NaN : servingMs,
        postgres: cpuMs.postgres === null || all === 0 ? null : cpuMs.postgres / all,
      },
      gatewayPeakRssBytes,
      endedAt: Date.now(),
    };
  };
  return [result(pair[0], answers[0]!), result(pair[1], answers[1]!)];
}

function emptyRun(target: Target, pass: number, skipped: string): RunResult {
  return {
    target: target.name,
    pass,
    skipped,
    durationS: 0,
    requests: 0,
    rps: 0,
    p50Ms: 0,
    p99Ms: 0,
    statusCodes: {},
    "2xx": 0,
    non2xx: 0,
    errors: 0,
    mismatches: 0,
    cpuMs: { gateway: 0, ceiling: 0, medusa: null, forwarder: null, postgres: null, bench: 0 },
    cpuMsPerRequest: { node: Number.NaN, postgres: null },
    gatewayPeakRssBytes: 0,
    endedAt: Date.now(),
  };
}
