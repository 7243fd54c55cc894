import fs from "node:fs";
import path from "node:path";
import type { MailReport } from "./mail";
import type { RunResult } from "./measure";

export interface TargetSummary {
  target: string;
  description: string;
  /** Measured runs (warm-up and skipped runs excluded). */
  passes: number;
  /** Medians over the passes. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuNodeMs: number;
  cpuPostgresMs: number | null;
  /** Medians of each process's CPU use during the runs, in % of one core. */
  cpuShare: { gateway: number; postgres: number | null; ceiling: number; bench: number };
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
  machine: { node: string; cpus: number; cpuModel: string | undefined; loadAverageAtEnd: number[] };
  runs: RunResult[];
  summary: TargetSummary[];
  claimsWithMail: ClaimWithMailSummary[];
  ratios: RatioResult[];
  /** The gateway's peak RSS over the whole bench (VmHWM). */
  gatewayPeakRssBytes: number;
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

export function summarise(targets: { name: string; description: string }[], runs: RunResult[]): TargetSummary[] {
  return targets.map(({ name, description }) => {
    const all = runs.filter((run) => run.target === name && run.pass > 0);
    const measured = all.filter((run) => !run.skipped);
    const sum = (key: "requests" | "non2xx" | "errors" | "mismatches") =>
      measured.reduce((total, run) => total + run[key], 0);
    const postgres = measured
      .map((run) => run.cpuMsPerRequest.postgres)
      .filter((value): value is number => value !== null);
    const share = (ms: (run: RunResult) => number | null) =>
      median(measured.map((run) => (100 * (ms(run) ?? Number.NaN)) / (run.durationS * 1000)));
    return {
      target: name,
      description,
      passes: measured.length,
      rps: median(measured.map((run) => run.rps)),
      p50Ms: median(measured.map((run) => run.p50Ms)),
      p99Ms: median(measured.map((run) => run.p99Ms)),
      cpuNodeMs: median(measured.map((run) => run.cpuMsPerRequest.node)),
      cpuPostgresMs: postgres.length > 0 ? median(postgres) : null,
      cpuShare: {
        gateway: share((run) => run.cpuMs.gateway),
        postgres: measured.some((run) => run.cpuMs.postgres !== null) ? share((run) => run.cpuMs.postgres) : null,
        ceiling: share((run) => run.cpuMs.ceiling),
        bench: share((run) => run.cpuMs.bench),
      },
      requests: sum("requests"),
      non2xx: sum("non2xx"),
      errors: sum("errors"),
      mismatches: sum("mismatches"),
      notes: all.flatMap((run) =>
        [
          run.skipped && `pass ${run.pass} skipped: ${run.skipped}`,
          run.stoppedEarly && `pass ${run.pass} stopped early: ${run.stoppedEarly}`,
        ].filter((note): note is string => !!note),
      ),
    };
  });
}

export function ratios(summary: TargetSummary[]): RatioResult[] {
  const rps = new Map(summary.map((s) => [s.target, s.rps]));
  return RATIOS.filter(([a, b]) => rps.has(a) && rps.has(b)).map(([a, b, atLeast]) => {
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

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (value: number) =>
  Number.isNaN(value) ? "-" : value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);
const ms = (value: number | null) =>
  value === null || !Number.isFinite(value) ? "-" : value < 1 ? value.toFixed(3) : value.toFixed(2);
const verdict = (met: boolean | undefined) => (met === undefined ? "" : met ? "met" : "MISSED");

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  // First column left-aligned (names), the others right-aligned (numbers).
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function printReport(report: BenchReport): void {
  const out: string[] = [];
  const settings = report.settings;
  out.push(
    "",
    `ordergate bench: ${settings.connections} connections, ${settings.passes} interleaved passes of ${settings.durationS} s per target after a ${settings.warmupS} s warm-up; ` +
      `${settings.database} PostgreSQL; Node.js ${report.machine.node}, ${report.machine.cpus} CPUs; gateway: ${settings.gatewayCommand} with ${settings.gatewayEnvironment}`,
    "",
    table(
      ["target", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "CPU ms/req node", "PostgreSQL", "both"],
      report.summary.map((s) => [
        s.target,
        rate(s.rps),
        String(s.p50Ms),
        String(s.p99Ms),
        String(s.non2xx),
        String(s.errors + s.mismatches),
        ms(s.cpuNodeMs),
        ms(s.cpuPostgresMs),
        ms(s.cpuPostgresMs === null ? null : s.cpuNodeMs + s.cpuPostgresMs),
      ]),
    ),
    "(medians over the passes; non-2xx and errors summed; errors: connection errors, timeouts and 200s whose GraphQL body said it failed; " +
      "CPU of the serving process (the ceiling's own for `ceiling`) and of every PostgreSQL process, background mail delivery included)",
  );
  for (const s of report.summary) for (const note of s.notes) out.push(`  ${s.target}: ${note}`);
  const percent = (value: number | null) => (value === null || Number.isNaN(value) ? "-" : `${Math.round(value)}%`);
  out.push(
    "",
    table(
      ["CPU use during each target", "gateway", "PostgreSQL", "ceiling", "load generator"],
      report.summary.map((s) => [
        s.target,
        percent(s.cpuShare.gateway),
        percent(s.cpuShare.postgres),
        percent(s.cpuShare.ceiling),
        percent(s.cpuShare.bench),
      ]),
    ),
    "(% of one core, medians over the passes; the machine has 2 cores; the load generator is this process: autocannon and the SMTP sink)",
  );
  if (report.claimsWithMail.length > 0) {
    const count = (value: number) => value.toLocaleString("en-US");
    out.push(
      "",
      table(
        ["claims with their email", "claims/s", "2xx/s", "claims opened / 2xx", "CPU ms/claim node", "PostgreSQL"],
        report.claimsWithMail.map((c) => [
          c.target,
          rate(c.claimsPerS),
          rate(c.answeredPerS),
          `${count(c.claimsOpened)} / ${count(c.answered2xx)}`,
          ms(c.cpuNodeMs),
          ms(c.cpuPostgresMs),
        ]),
      ),
      "(each claim run and the wait after it until the outbox had sent the run's emails, together: " +
        "what a claim costs when its email is counted; claims: those the run opened, each owed an email, " +
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
          "gateway peak RSS",
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

/** Writes the raw results to `bench-results/<timestamp>.json`; returns the file's path. */
export function writeResults(root: string, report: BenchReport): string {
  const dir = path.join(root, "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
