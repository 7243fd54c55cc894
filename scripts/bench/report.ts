import fs from "node:fs";
import path from "node:path";
import type { MailReport } from "./mail";
import type { RunResult } from "./measure";
import type { ProcessPeak } from "./processes";
import type { Target } from "./targets";

export interface TargetSummary {
  target: string;
  description: string;
  connections: number;
  /** Measured runs (warm-up and skipped runs excluded). */
  passes: number;
  /** Medians over the passes (latencies: the bench's own timing, in fractional ms, for `exactLatency` targets). */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuNodeMs: number;
  cpuPostgresMs: number | null;
  /** Medians of each process tree's CPU use during the runs, in % of one core (null: not running). */
  cpuShare: {
    gateway: number;
    postgres: number | null;
    ceiling: number;
    medusa: number | null;
    forwarder: number | null;
    bench: number;
  };
  /** Sums over the passes. */
  requests: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  notes: string[];
}

export interface RatioResult {
  name: string;
  value: number;
  /** The issue's target, when it sets one. */
  atLeast?: number;
  met?: boolean;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  settings: Record<string, unknown>;
  /** The commit measured (`-dirty`: with changes not committed). */
  commit: string;
  machine: Machine & { loadAverageAtEnd: number[] };
  /** Whether Medusa and the gateway in front of it ran, or why not. */
  medusa: string;
  runs: RunResult[];
  summary: TargetSummary[];
  claimsWithMail: ClaimWithMailSummary[];
  ratios: RatioResult[];
  /** The peak RSS (VmHWM) of the gateway's largest process over the whole bench. */
  gatewayPeakRssBytes: number;
  /** Each process of the gateway's tree (cluster workers, a job worker) with its peak RSS. */
  gatewayProcesses: ProcessPeak[];
  /** The highest sum of the tree's RSS sampled. */
  gatewayPeakTreeRssBytes: number;
  baseline: BaselineComparison | { unavailable: string };
  issue20: TargetRow[];
  claims: {
    requestsAnswered2xx: number;
    /** Claims the claim runs opened, by their counts (see RunResult.claimsOpened). */
    openedDuringRuns: number;
    /** Orders confirm had moved, put back as guest orders before claim runs. */
    ordersRestored: number;
  };
  mail: MailReport;
  gatewayLog: { lines: number; byLevel: Record<string, number>; first: string[] };
  /** What broke: the bench exits non-zero when there is any. */
  problems: string[];
}

const RSS_TARGET_BYTES = 250 * 1024 * 1024;
const CLAIM_P99_TARGET_MS = 25;
/** Issue 8: every claim's email delivered by the end of its run plus 10 s. */
const MAIL_KEEPS_UP_S = 10;

/** Issue 8's ratios: numerator, denominator, and the least it asks for. */
const RATIOS: [string, string, number | undefined][] = [
  ["claim-rest-1", "ceiling", 0.02],
  ["claim-graphql-1", "claim-rest-1", 0.9],
  ["claim-rest-10", "claim-rest-1", 0.7],
  ["confirm-rest", "claim-rest-1", undefined],
  ["customer-orders", "auth", 0.5],
  ["order-lookup", "auth", 0.5],
  ["graphql-me-orders", "auth", 0.5],
];

const median = (values: number[]) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * A claim run that opened fewer claims than this share of the requests it had answered 2xx measured
 * requests that did no work (claims of orders no longer claimable are answered 2xx all the same):
 * the bench reports it as a problem.
 */
export const MIN_OPENED_SHARE = 0.9;

/** Whether so few claims were opened for the requests answered 2xx that those requests did no work. */
export const openedTooFew = (claimsOpened: number, answered2xx: number) =>
  answered2xx > 0 && claimsOpened < MIN_OPENED_SHARE * answered2xx;

/**
 * A claim target's cost with the email of each claim: its run plus the wait until the outbox had
 * sent it all, per claim opened (per email owed), not per request answered.
 */
export interface ClaimWithMailSummary {
  target: string;
  /** Claims opened per second of run and mail-out time together. */
  claimsPerS: number;
  /** Requests answered 2xx per second of the same time. */
  answeredPerS: number;
  /** Over the passes: claims opened and requests answered 2xx. */
  claimsOpened: number;
  answered2xx: number;
  /** CPU of the run and its mail-out per claim opened; Infinity when none was. */
  cpuNodeMs: number;
  cpuPostgresMs: number | null;
}

export function summariseClaimsWithMail(runs: RunResult[]): ClaimWithMailSummary[] {
  const measured = runs.filter(
    (run) =>
      run.pass > 0 &&
      !run.skipped &&
      run.mailDrainedAfterS != null &&
      run.mailDrainCpuMs &&
      run.claimsOpened !== undefined &&
      run.requests > 0,
  );
  const names = [...new Set(measured.map((run) => run.target))];
  return names.map((target) => {
    const own = measured.filter((run) => run.target === target);
    // A run that opened no claim spent its CPU on none: Infinity, which sorts (NaN does not).
    const per = (run: RunResult, ms: number) => (run.claimsOpened! > 0 ? ms / run.claimsOpened! : Infinity);
    const postgres = own.flatMap((run) =>
      run.cpuMs.postgres === null || run.mailDrainCpuMs!.postgres === null
        ? []
        : [per(run, run.cpuMs.postgres + run.mailDrainCpuMs!.postgres)],
    );
    const seconds = (run: RunResult) => run.durationS + run.mailDrainedAfterS!;
    return {
      target,
      claimsPerS: median(own.map((run) => run.claimsOpened! / seconds(run))),
      answeredPerS: median(own.map((run) => run["2xx"] / seconds(run))),
      claimsOpened: own.reduce((total, run) => total + run.claimsOpened!, 0),
      answered2xx: own.reduce((total, run) => total + run["2xx"], 0),
      cpuNodeMs: median(own.map((run) => per(run, run.cpuMs.gateway + run.mailDrainCpuMs!.gateway))),
      cpuPostgresMs: postgres.length > 0 ? median(postgres) : null,
    };
  });
}

export function summarise(targets: Target[], runs: RunResult[], connections: number): TargetSummary[] {
  return targets.map(({ name, description, ...target }) => {
    const all = runs.filter((run) => run.target === name && run.pass > 0);
    const measured = all.filter((run) => !run.skipped);
    const sum = (key: "requests" | "non2xx" | "errors" | "mismatches") =>
      measured.reduce((total, run) => total + run[key], 0);
    const postgres = measured
      .map((run) => run.cpuMsPerRequest.postgres)
      .filter((value): value is number => value !== null);
    const share = (ms: (run: RunResult) => number | null) =>
      median(measured.map((run) => (100 * (ms(run) ?? Number.NaN)) / (run.durationS * 1000)));
    const shareIfRunning = (key: "postgres" | "medusa" | "forwarder") =>
      measured.some((run) => run.cpuMs[key] !== null) ? share((run) => run.cpuMs[key]) : null;
    // Each reason once, with the passes it held for (Medusa's absence: all of them).
    const skipped = [...new Set(all.flatMap((run) => (run.skipped ? [run.skipped] : [])))].map((reason) => {
      const passes = all.filter((run) => run.skipped === reason).map((run) => run.pass);
      return `pass${passes.length > 1 ? "es" : ""} ${passes.join(", ")} skipped: ${reason}`;
    });
    return {
      target: name,
      description,
      connections: target.connections ?? connections,
      passes: measured.length,
      rps: median(measured.map((run) => run.rps)),
      p50Ms: median(measured.map((run) => run.exactLatencyMs?.p50 ?? run.p50Ms)),
      p99Ms: median(measured.map((run) => run.exactLatencyMs?.p99 ?? run.p99Ms)),
      cpuNodeMs: median(measured.map((run) => run.cpuMsPerRequest.node)),
      cpuPostgresMs: postgres.length > 0 ? median(postgres) : null,
      cpuShare: {
        gateway: share((run) => run.cpuMs.gateway),
        postgres: shareIfRunning("postgres"),
        ceiling: share((run) => run.cpuMs.ceiling),
        medusa: shareIfRunning("medusa"),
        forwarder: shareIfRunning("forwarder"),
        bench: share((run) => run.cpuMs.bench),
      },
      requests: sum("requests"),
      non2xx: sum("non2xx"),
      errors: sum("errors"),
      mismatches: sum("mismatches"),
      notes: [
        ...skipped,
        ...all.flatMap((run) => (run.stoppedEarly ? [`pass ${run.pass} stopped early: ${run.stoppedEarly}`] : [])),
      ],
    };
  });
}

export function ratios(summary: TargetSummary[], list = RATIOS): RatioResult[] {
  const rps = new Map(summary.map((s) => [s.target, s.rps]));
  return list
    .filter(([a, b]) => rps.has(a) && rps.has(b))
    .map(([a, b, atLeast]) => {
      const value = rps.get(a)! / rps.get(b)!;
      // NaN when a target had no measured run (confirm without tokens): neither met nor missed.
      return {
        name: `${a} / ${b}`,
        value,
        ...(atLeast === undefined ? {} : { atLeast }),
        ...(atLeast === undefined || Number.isNaN(value) ? {} : { met: value >= atLeast }),
      };
    });
}

export interface Machine {
  node: string;
  cpus: number;
  cpuModel: string | undefined;
}

type TargetFigures = { rps: number; p50Ms: number; p99Ms: number; cpuNodeMs: number; cpuPostgresMs: number | null };

/** scripts/bench/baseline.json: the figures of one full bench before issue 20's changes. */
interface Baseline {
  commit: string;
  measuredAt: string;
  source: string;
  machine: Machine;
  targets: Record<string, TargetFigures>;
  claimsWithMail: Record<string, { claimsPerS: number; cpuNodeMs: number; cpuPostgresMs: number | null }>;
  gatewayPeakRssBytes: number;
}

export const BASELINE_FILE = path.join(__dirname, "baseline.json");

/** This run beside the baseline's figures, target by target. */
export interface BaselineComparison {
  commit: string;
  measuredAt: string;
  source: string;
  machine: Machine;
  /** How this machine differs from the baseline's (CPU count or model), when it does: the figures then do not compare. */
  machineDiffers: string | null;
  /** Claim targets: CPU ms per claim with its email (gateway tree + PostgreSQL), before and now, and now / before. */
  claimsWithMail: {
    target: string;
    before: number;
    now: number | null;
    ratio: number | null;
    claimsPerSBefore: number;
    claimsPerSNow: number | null;
  }[];
  targets: { target: string; before: TargetFigures; now: TargetFigures }[];
  gatewayPeakRssBytesBefore: number;
}

const cpuBoth = (figures: { cpuNodeMs: number; cpuPostgresMs: number | null }) =>
  figures.cpuPostgresMs === null ? Number.NaN : figures.cpuNodeMs + figures.cpuPostgresMs;

export function compareWithBaseline(
  machine: Machine,
  summary: TargetSummary[],
  claimsWithMail: ClaimWithMailSummary[],
  file = BASELINE_FILE,
): BaselineComparison | { unavailable: string } {
  let baseline: Baseline;
  try {
    baseline = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    return { unavailable: `no baseline: ${(error as Error).message}` };
  }
  const differences = [
    machine.cpus !== baseline.machine.cpus && `${machine.cpus} CPUs, not ${baseline.machine.cpus}`,
    machine.cpuModel !== baseline.machine.cpuModel && `CPU "${machine.cpuModel}", not "${baseline.machine.cpuModel}"`,
  ].filter((difference): difference is string => !!difference);
  return {
    commit: baseline.commit,
    measuredAt: baseline.measuredAt,
    source: baseline.source,
    machine: baseline.machine,
    machineDiffers: differences.length > 0 ? differences.join(", ") : null,
    claimsWithMail: Object.entries(baseline.claimsWithMail).map(([target, before]) => {
      const now = claimsWithMail.find((c) => c.target === target);
      const nowMs = now ? cpuBoth(now) : null;
      return {
        target,
        before: cpuBoth(before),
        now: nowMs,
        ratio: nowMs === null ? null : nowMs / cpuBoth(before),
        claimsPerSBefore: before.claimsPerS,
        claimsPerSNow: now?.claimsPerS ?? null,
      };
    }),
    targets: summary
      .filter((s) => baseline.targets[s.target] && s.passes > 0)
      .map((s) => ({ target: s.target, before: baseline.targets[s.target]!, now: s })),
    gatewayPeakRssBytesBefore: baseline.gatewayPeakRssBytes,
  };
}

/** A target of an issue and what this run measured: held, missed, or not measured (undefined). */
export interface TargetRow {
  name: string;
  measured: string;
  wanted: string;
  /** Unset: the issue sets no figure, or the run could not measure it. */
  held?: boolean;
  /** Whether there is a figure to hold: false prints "(measured)" or "not measured". */
  hasTarget: boolean;
}

/** Issue 20's targets. */
const ISSUE20 = {
  cpuPerClaimWithMailRatio: 0.5,
  mailShare: 0.95,
  claimP99Ms: 40,
  forwardedOverheadMs: 1,
  rssPerProcessBytes: 200 * 1024 * 1024,
};
const ISSUE20_RATIOS: [string, string, number][] = [
  ["claim-rest-1", "medusa-claim-1", 6],
  ["claim-graphql-1", "claim-rest-1", 0.9],
  ["claim-rest-10", "claim-rest-1", 0.7],
  ["products-forwarded", "products-medusa", 0.95],
];

/** The runs the mail accounting covers: every claim run, warm-ups included (mail must keep up with each). */
const mailRuns = (runs: RunResult[]) => runs.filter((run) => run.mail !== undefined);

export function issue20Targets(report: Omit<BenchReport, "issue20">): TargetRow[] {
  const rows: TargetRow[] = [];
  const number = (value: number | null | undefined) => value !== null && value !== undefined && !Number.isNaN(value);
  const row = (name: string, measured: string, wanted: string, held: boolean | undefined) =>
    rows.push({ name, measured, wanted, held, hasTarget: true });
  const baseline = "unavailable" in report.baseline ? undefined : report.baseline;
  for (const c of baseline?.claimsWithMail ?? []) {
    if (!report.summary.some((s) => s.target === c.target)) continue;
    row(
      `CPU per claim with its email, ${c.target}, now / ${baseline!.commit}`,
      number(c.ratio) ? `${ms(c.now)} / ${ms(c.before)} ms = ${c.ratio!.toFixed(2)}` : "-",
      `<= ${ISSUE20.cpuPerClaimWithMailRatio}`,
      number(c.ratio) ? c.ratio! <= ISSUE20.cpuPerClaimWithMailRatio : undefined,
    );
  }
  const mail = mailRuns(report.runs);
  if (mail.length > 0) {
    const worst = mail.reduce((a, b) => (b.mail!.share < a.mail!.share ? b : a));
    row(
      "owed emails sent by a claim run's end + 10 s, worst run",
      `${percentOf(worst.mail!.share)} (${worst.target} ${passName(worst.pass)})`,
      `>= ${ISSUE20.mailShare * 100}%`,
      worst.mail!.share >= ISSUE20.mailShare,
    );
    rows.push({
      name: "mail backlog of a claim run: at its end / at most",
      measured: `${Math.max(...mail.map((run) => run.mail!.backlogAtEnd))} / ${Math.max(...mail.map((run) => run.mail!.maxBacklog))} emails`,
      wanted: "bounded",
      hasTarget: false,
    });
  }
  const claimP99 = report.summary.find((s) => s.target === "claim-rest-1");
  if (claimP99)
    row(
      "claim-rest-1 p99",
      `${claimP99.p99Ms} ms`,
      `<= ${ISSUE20.claimP99Ms} ms`,
      number(claimP99.p99Ms) ? claimP99.p99Ms <= ISSUE20.claimP99Ms : undefined,
    );
  for (const r of ratios(report.summary, ISSUE20_RATIOS))
    row(`${r.name} req/s`, number(r.value) ? r.value.toFixed(3) : "-", `>= ${r.atLeast}`, r.met);
  const direct = report.summary.find((s) => s.target === "products-medusa-c1");
  const forwarded = report.summary.find((s) => s.target === "products-forwarded-c1");
  if (direct && forwarded) {
    const overhead = forwarded.p50Ms - direct.p50Ms;
    row(
      "GET /store/products p50 forwarded - direct, c=1",
      number(overhead) ? `${overhead.toFixed(2)} ms (${forwarded.p50Ms.toFixed(2)} - ${direct.p50Ms.toFixed(2)})` : "-",
      `<= ${ISSUE20.forwardedOverheadMs} ms`,
      number(overhead) ? overhead <= ISSUE20.forwardedOverheadMs : undefined,
    );
  }
  const largest = report.gatewayProcesses.reduce<ProcessPeak | undefined>(
    (a, b) => (a && a.peakRssBytes >= b.peakRssBytes ? a : b),
    undefined,
  );
  if (largest)
    row(
      "gateway peak RSS per process (the largest)",
      `${MiB(largest.peakRssBytes)} (${report.gatewayProcesses.length} process${report.gatewayProcesses.length > 1 ? "es" : ""})`,
      `< ${MiB(ISSUE20.rssPerProcessBytes)}`,
      largest.peakRssBytes < ISSUE20.rssPerProcessBytes,
    );
  return rows;
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (value: number) =>
  Number.isNaN(value) ? "-" : value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);
const ms = (value: number | null) =>
  value === null || !Number.isFinite(value) ? "-" : value < 1 ? value.toFixed(3) : value.toFixed(2);
/** autocannon's latencies are whole ms; the bench's own timing is not. */
export const latency = (value: number) =>
  Number.isNaN(value) ? "-" : Number.isInteger(value) ? String(value) : value.toFixed(2);
const percentOf = (share: number) => `${(100 * share).toFixed(1)}%`;
const passName = (pass: number) => (pass === 0 ? "warm-up" : `pass ${pass}`);
const count = (value: number) => value.toLocaleString("en-US");
const verdict = (met: boolean | undefined) => (met === undefined ? "" : met ? "met" : "MISSED");

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  // First column left-aligned (names), the others right-aligned (numbers).
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The bench's first line, printed as it starts and again above the table. */
export function benchHeader(machine: Machine, commit: string): string {
  return `ordergate bench at ${commit}: Node.js ${machine.node}, ${machine.cpus} CPUs (${machine.cpuModel ?? "model unknown"})`;
}

export function printReport(report: BenchReport): void {
  const out: string[] = [];
  const settings = report.settings;
  out.push(
    "",
    `${benchHeader(report.machine, report.commit)}; ${settings.connections} connections unless a target says, ${settings.passes} interleaved passes of ${settings.durationS} s per target after a ${settings.warmupS} s warm-up; ` +
      `${settings.database} PostgreSQL; gateway: ${settings.gatewayCommand} with ${settings.gatewayEnvironment}; Medusa: ${report.medusa}`,
    "",
    table(
      ["target", "c", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "CPU ms/req node", "PostgreSQL", "both"],
      report.summary.map((s) => [
        s.target,
        String(s.connections),
        rate(s.rps),
        latency(s.p50Ms),
        latency(s.p99Ms),
        String(s.non2xx),
        String(s.errors + s.mismatches),
        ms(s.cpuNodeMs),
        ms(s.cpuPostgresMs),
        ms(s.cpuPostgresMs === null ? null : s.cpuNodeMs + s.cpuPostgresMs),
      ]),
    ),
    "(medians over the passes; non-2xx and errors summed; errors: connection errors, timeouts and 200s whose GraphQL body said it failed; " +
      "latencies with decimals timed by the bench per response, the others autocannon's whole ms; " +
      "CPU node: the serving process and all its descendants (cluster workers, job worker): the gateway's, the ceiling's for `ceiling`, " +
      "Medusa's for medusa-*/products-medusa*, the forwarding gateway's and Medusa's together for products-forwarded*; " +
      "PostgreSQL: every process of the server, background mail delivery included)",
  );
  for (const s of report.summary) for (const note of s.notes) out.push(`  ${s.target}: ${note}`);
  const percent = (value: number | null) => (value === null || Number.isNaN(value) ? "-" : `${Math.round(value)}%`);
  const medusaRan = report.summary.some((s) => s.cpuShare.medusa !== null);
  out.push(
    "",
    table(
      [
        "CPU use during each target",
        "gateway",
        "PostgreSQL",
        "ceiling",
        ...(medusaRan ? ["Medusa", "forwarder"] : []),
        "load generator",
      ],
      report.summary.map((s) => [
        s.target,
        percent(s.cpuShare.gateway),
        percent(s.cpuShare.postgres),
        percent(s.cpuShare.ceiling),
        ...(medusaRan ? [percent(s.cpuShare.medusa), percent(s.cpuShare.forwarder)] : []),
        percent(s.cpuShare.bench),
      ]),
    ),
    `(% of one core, each process tree, medians over the passes; the machine has ${report.machine.cpus} cores; the load generator is this process: autocannon and the SMTP sink)`,
  );
  if (report.claimsWithMail.length > 0) {
    out.push(
      "",
      table(
        [
          "claims with their email",
          "claims/s",
          "2xx/s",
          "claims opened / 2xx",
          "CPU ms/claim node",
          "PostgreSQL",
          "both",
        ],
        report.claimsWithMail.map((c) => [
          c.target,
          rate(c.claimsPerS),
          rate(c.answeredPerS),
          `${count(c.claimsOpened)} / ${count(c.answered2xx)}`,
          ms(c.cpuNodeMs),
          ms(c.cpuPostgresMs),
          ms(cpuBoth(c)),
        ]),
      ),
      "(each claim run and the wait after it until the outbox had sent the run's emails, together: " +
        "what a claim costs when its email is counted, the gateway's whole process tree and PostgreSQL; claims: those the run opened, each owed an email, " +
        "counted in the database; medians over the passes, counts summed)",
    );
    for (const c of report.claimsWithMail) {
      if (openedTooFew(c.claimsOpened, c.answered2xx))
        out.push(
          `  WARNING: ${c.target} opened ${count(c.claimsOpened)} claims ` +
            `for ${count(c.answered2xx)} requests answered 2xx: many of its requests did no work, ` +
            "and its rows above measure them",
        );
    }
  }
  const mailed = mailRuns(report.runs);
  if (mailed.length > 0) {
    out.push(
      "",
      table(
        [
          "mail of each claim run",
          "run",
          "owed",
          "sent by end + 10 s",
          "share",
          "backlog at end",
          "max",
          "all sent after",
        ],
        mailed.map((run) => [
          run.target,
          passName(run.pass),
          count(run.mail!.owed),
          count(run.mail!.emailedInTime),
          percentOf(run.mail!.share),
          count(run.mail!.backlogAtEnd),
          count(run.mail!.maxBacklog),
          run.mailDrainedAfterS == null ? "never" : `${run.mailDrainedAfterS.toFixed(1)} s`,
        ]),
      ),
      "(owed: the claims the run opened, not superseded; sent: their emails' arrival at the SMTP sink, matched by token hash, by the run's end + 10 s; " +
        "backlog: owed and not yet arrived, at the run's end and at its largest; all sent after: the outbox empty, which the bench waits for before the next run)",
    );
  }
  out.push(
    "",
    `gateway processes (peak RSS): ${report.gatewayProcesses.map((p) => `pid ${p.pid} ${p.process} ${MiB(p.peakRssBytes)}`).join("; ")}; ` +
      `their sum at most ${MiB(report.gatewayPeakTreeRssBytes)} (sampled every 100 ms; each process's peak is the kernel's VmHWM)`,
  );

  const claimP99 = report.summary.find((s) => s.target === "claim-rest-1")?.p99Ms;
  // Warm-ups included: mail must keep up with every claim run.
  const drains = report.runs.flatMap((run) => (run.mailDrainedAfterS === undefined ? [] : [run.mailDrainedAfterS]));
  const slowestDrain =
    drains.length === 0 ? undefined : drains.includes(null) ? null : Math.max(...(drains as number[]));
  const mail = report.mail;
  const after = mail.lastEmailAfterLastClaimS;
  const lastEmail =
    after !== null && after > 0
      ? `${after.toFixed(1)} s after the last claim run ended`
      : "before the last claim run ended";
  const mailLine =
    mail.owed === 0
      ? "no claim owed one"
      : mail.allDelivered
        ? `all ${mail.owed} owed delivered, the last ${lastEmail}`
        : `${mail.missing} of ${mail.owed} owed NOT delivered 10 s after the end`;
  out.push(
    "",
    table(
      ["issue 8 target", "measured", "wanted", ""],
      [
        ...report.ratios.map((r) => [
          r.name,
          Number.isNaN(r.value) ? "-" : r.value.toFixed(3),
          r.atLeast === undefined ? "(measured)" : `>= ${r.atLeast}`,
          verdict(r.met),
        ]),
        ...(claimP99 === undefined
          ? []
          : [
              [
                "claim-rest-1 p99",
                `${claimP99} ms`,
                `<= ${CLAIM_P99_TARGET_MS} ms`,
                verdict(claimP99 <= CLAIM_P99_TARGET_MS),
              ],
            ]),
        [
          "gateway peak RSS (its largest process)",
          MiB(report.gatewayPeakRssBytes),
          `< ${MiB(RSS_TARGET_BYTES)}`,
          verdict(report.gatewayPeakRssBytes < RSS_TARGET_BYTES),
        ],
        [
          "every claim's email delivered",
          mail.allDelivered ? "yes" : "no",
          "by the end + 10 s",
          verdict(mail.allDelivered),
        ],
        ...(slowestDrain === undefined
          ? []
          : [
              [
                "mail sent after a claim run, slowest",
                slowestDrain === null ? "never" : `${slowestDrain.toFixed(1)} s`,
                `<= ${MAIL_KEEPS_UP_S} s`,
                verdict(slowestDrain !== null && slowestDrain <= MAIL_KEEPS_UP_S),
              ],
            ]),
      ],
    ),
  );
  out.push("", ...baselineLines(report));
  out.push(
    "",
    table(
      ["issue 20 target", "measured", "wanted", ""],
      report.issue20.map((row) => [
        row.name,
        row.measured,
        row.wanted,
        !row.hasTarget ? "(measured)" : row.held === undefined ? "not measured" : row.held ? "held" : "MISSED",
      ]),
    ),
    "",
    `claims: ${report.claims.requestsAnswered2xx} claim requests answered 2xx (warm-ups included; not those still in flight when a run ended) opened ${mail.claimsOpened} claims` +
      `${mail.superseded ? ` (${mail.superseded} superseded: no email owed)` : ""}; emails: ${mail.emailsReceived} received by the SMTP sink, ${mailLine}`,
    `guest orders: ${report.claims.ordersRestored} moved by confirm runs were put back as guest orders ` +
      "before the claim runs that followed (not measured)",
    `gateway log (stderr at LOG_LEVEL=warn): ${report.gatewayLog.lines} lines${
      Object.keys(report.gatewayLog.byLevel).length
        ? ` (${Object.entries(report.gatewayLog.byLevel)
            .map(([level, n]) => `${n} ${level}`)
            .join(", ")})`
        : ""
    }`,
    ...report.gatewayLog.first.map((line) => `  ${line.length > 300 ? `${line.slice(0, 300)}...` : line}`),
  );
  if (report.problems.length > 0)
    out.push("", "PROBLEMS (the bench exits 1):", ...report.problems.map((problem) => `  - ${problem}`));
  console.log(out.join("\n"));
}

const cpuPair = (figures: { cpuNodeMs: number; cpuPostgresMs: number | null }) =>
  figures.cpuPostgresMs === null ? ms(figures.cpuNodeMs) : `${ms(figures.cpuNodeMs)} + ${ms(figures.cpuPostgresMs)}`;

/** Before (the baseline) and now, side by side. */
function baselineLines(report: BenchReport): string[] {
  const baseline = report.baseline;
  if ("unavailable" in baseline) return [`before/after: ${baseline.unavailable}`];
  const when = baseline.measuredAt.replace("T", " ").slice(0, 16);
  const lines = [
    `before: commit ${baseline.commit}, measured ${when} UTC on Node.js ${baseline.machine.node}, ${baseline.machine.cpus} CPUs (${baseline.machine.cpuModel}) ` +
      `(${path.basename(BASELINE_FILE)}, from ${baseline.source}); now: ${report.commit} on Node.js ${report.machine.node}`,
  ];
  if (baseline.machineDiffers)
    lines.push(
      `WARNING: this machine differs from the baseline's (${baseline.machineDiffers}): before and after do not compare`,
    );
  const arrow = (before: string, now: string) => `${before} -> ${now}`;
  lines.push(
    table(
      ["before -> now", "req/s", "p99 ms", "CPU ms/req node + PostgreSQL"],
      baseline.targets.map(({ target, before, now }) => [
        target,
        arrow(rate(before.rps), rate(now.rps)),
        arrow(latency(before.p99Ms), latency(now.p99Ms)),
        arrow(cpuPair(before), cpuPair(now)),
      ]),
    ),
  );
  const claimsRun = baseline.claimsWithMail.filter((c) => c.now !== null);
  if (claimsRun.length > 0)
    lines.push(
      "",
      table(
        ["claims with their email, before -> now", "claims/s", "CPU ms/claim node + PostgreSQL", "now / before"],
        claimsRun.map((c) => [
          c.target,
          arrow(rate(c.claimsPerSBefore), c.claimsPerSNow === null ? "-" : rate(c.claimsPerSNow)),
          arrow(ms(c.before), ms(c.now)),
          c.ratio === null ? "-" : c.ratio.toFixed(2),
        ]),
      ),
    );
  lines.push(
    `gateway peak RSS, largest process: ${MiB(baseline.gatewayPeakRssBytesBefore)} -> ${MiB(report.gatewayPeakRssBytes)}`,
  );
  return lines;
}

/** Writes the raw results to `bench-results/<timestamp>.json`; returns the file's path. */
export function writeResults(root: string, report: BenchReport): string {
  const dir = path.join(root, "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
