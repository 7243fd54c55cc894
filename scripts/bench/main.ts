/**
 * `npm run bench` (issues 8 and 20): ordergate as it ships (compiled, production settings, rate
 * limits off) on PostgreSQL, mailing to a loopback SMTP sink, beside a bare `node:http` ceiling and,
 * when installed, the Medusa v1 test server (its own claim route, and its products directly and
 * through a second gateway in front of it); each target loaded by autocannon after a warm-up, in
 * interleaved passes (the two at one connection, direct and forwarded, by the bench itself, a
 * request to each in turn). CPU is each server's whole process tree (cluster workers, a job worker).
 * Prints a table with the issues' targets and this run beside scripts/bench/baseline.json, and
 * writes the raw results to `bench-results/<timestamp>.json`.
 *
 * A benchmark, not a test: targets missed do not fail it, but it exits 1 when something broke
 * (a server died, requests failed beyond a handful, an email without a token).
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyMigrations } from "../../src/db/migrate";
import { createLogger } from "../../src/lib/logger";
import { medusaInstalled } from "../../test/support/medusa";
import {
  type BenchDatabase,
  countClaims,
  readClaims,
  readOrders,
  restoreOrders,
  startBenchDatabase,
  waitForOutboxDrain,
} from "./database";
import { ClaimPlan, CUSTOMERS, GUEST_ORDERS, ORDERS_PER_GUEST, seedFixtures } from "./fixtures";
import { ArrivalsByHash, runMail, settleMail } from "./mail";
import { measureMailDrain, type Monitors, type RunResult, runInTurn, runTarget } from "./measure";
import { inFrontOfMedusa, type MedusaFixtures, medusaPid, seedMedusaClaims, startBenchMedusa } from "./medusa";
import { type BenchOptions, parseOptions, USAGE, UsageError } from "./options";
import { processTree, RssSampler, startCeiling, startGateway, startScriptNodeOptions } from "./processes";
import {
  benchHeader,
  type BenchReport,
  compareWithBaseline,
  issue20Targets,
  latency,
  type Machine,
  openedTooFew,
  printReport,
  ratios,
  summarise,
  summariseClaimsWithMail,
  writeResults,
} from "./report";
import { SmtpSink } from "./smtp-sink";
import { allTargets, MEDUSA_TARGET_NAMES, TARGET_NAMES, type Target } from "./targets";

const ROOT = path.resolve(__dirname, "../..");
/** Failed requests (non-2xx, errors, bad bodies) a run may have before the bench counts it as broken. */
const HANDFUL = 5;
/** How long the mail may take to catch up after the last run (issue 8: "by the end of the run plus 10 seconds"). */
const MAIL_GRACE_MS = 10_000;
/**
 * After a claim run, the bench waits for the outbox to send what the run queued before it starts
 * the next run, so that a mail backlog never runs beside another target (it made the ceiling look
 * lower); mail keeps up when every claim run's backlog is gone within MAIL_GRACE_MS.
 */
const MAIL_DRAIN_LIMIT_MS = 120_000;
/** The settings the gateway runs with, besides the secret, the database, the sink and the port. */
const GATEWAY_SETTINGS = {
  NODE_ENV: "production",
  PUBLIC_URL: "http://localhost",
  RATE_LIMITS: "off",
  SEED_DEMO: "false",
  LOG_LEVEL: "warn",
};
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const MEDUSA_INSTALL = "npm ci --prefix medusa-v1-server";

const logger = createLogger("warn");
const say = (line: string) => console.log(line);

/** What was started, stopped in reverse order, on success, failure or a signal alike. */
class Cleanup {
  private steps: [string, () => Promise<void> | void][] = [];

  add(name: string, step: () => Promise<void> | void): void {
    this.steps.push([name, step]);
  }

  async run(): Promise<void> {
    for (const [name, step] of this.steps.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`cleanup: ${name} failed: ${(error as Error).message}`);
      }
    }
    this.steps = [];
  }
}

function throwIfInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error(`interrupted by ${String(signal.reason)}`);
}

/** The commit checked out, `-dirty` when tracked files have changes not committed (what the build compiled). */
function gitCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    return `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "--untracked-files=no") ? "-dirty" : ""}`;
  } catch {
    return "an unknown commit";
  }
}

/**
 * Medusa (the test server, on its own database on the bench's PostgreSQL server) with customers
 * and guest orders for its claim route, and a second gateway in front of it; or why not. Without
 * Medusa installed its targets are skipped, not failed.
 */
async function startMedusa(
  database: BenchDatabase,
  jwtSecret: string,
  dataDir: string,
  cleanup: Cleanup,
): Promise<
  | { medusa: MedusaFixtures; urls: Monitors["urls"]; pids: Monitors["pids"]; alive: () => boolean }
  | { unavailable: string }
> {
  if (!medusaInstalled())
    return {
      unavailable: `the Medusa test server is not installed (medusa-v1-server/node_modules): ${MEDUSA_INSTALL}`,
    };
  const starting = Date.now();
  const medusa = await startBenchMedusa(database, jwtSecret);
  cleanup.add("Medusa", () => medusa.close());
  const fixtures = await seedMedusaClaims(medusa, jwtSecret);
  const forwarder = await startGateway(inFrontOfMedusa(medusa, jwtSecret, dataDir));
  cleanup.add("gateway in front of Medusa", () => forwarder.child.stop());
  const pid = medusaPid(medusa);
  say(
    `Medusa 1.20.11 ready in ${((Date.now() - starting) / 1000).toFixed(0)} s with ${fixtures.bearers.length} customers and ${fixtures.guestOrderIds.length} guest orders; ` +
      "a second gateway in front of it, on its database",
  );
  return {
    medusa: fixtures,
    urls: { medusa: medusa.url, forwarder: forwarder.url },
    pids: { medusa: pid, forwarder: forwarder.child.pid },
    alive: () => processTree(pid).length > 0 && !forwarder.child.exited,
  };
}

async function bench(options: BenchOptions, cleanup: Cleanup, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const machine: Machine = { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model };
  const commit = gitCommit();
  say(benchHeader(machine, commit));
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-bench-"));
  cleanup.add("temp dir", () => fs.rmSync(tempDir, { recursive: true, force: true }));
  // As root, the embedded PostgreSQL runs as the OS user `postgres`, which must reach its data dir.
  fs.chmodSync(tempDir, 0o755);

  const externalUrl = process.env.DATABASE_URL || undefined;
  say(
    externalUrl
      ? "PostgreSQL: a fresh database on DATABASE_URL's server"
      : "PostgreSQL: the embedded server, in a temp dir",
  );
  const database = await startBenchDatabase(path.join(tempDir, "data"), externalUrl, logger);
  cleanup.add("PostgreSQL", () => database.stop());
  throwIfInterrupted(signal);
  await applyMigrations(database.url, logger);
  say(
    `seeding ${CUSTOMERS} registered customers and ${GUEST_ORDERS} guest orders (${ORDERS_PER_GUEST} per email address)`,
  );
  const jwtSecret = crypto.randomBytes(32).toString("base64url");
  const seeding = Date.now();
  const fixtures = await seedFixtures(database.url, jwtSecret);
  say(`seeded in ${((Date.now() - seeding) / 1000).toFixed(0)} s`);
  // Confirm runs move claimed guest orders into the claimers' accounts, where a claim of them is
  // answered 2xx but opens nothing: each claim run starts from the guest orders as seeded.
  const seededGuestOrders = await readOrders(
    database.url,
    fixtures.guestOrders.map((order) => order.id),
  );
  if (seededGuestOrders.length !== fixtures.guestOrders.length)
    throw new Error(`read ${seededGuestOrders.length} of the ${fixtures.guestOrders.length} guest orders seeded`);
  throwIfInterrupted(signal);

  const sink = await new SmtpSink().start();
  cleanup.add("SMTP sink", () => sink.stop());
  const gatewaySettings = {
    ...GATEWAY_SETTINGS,
    ...(options.webConcurrency === undefined ? {} : { WEB_CONCURRENCY: String(options.webConcurrency) }),
  };
  const gateway = await startGateway(
    {
      ...gatewaySettings,
      JWT_SECRET: jwtSecret,
      DATABASE_URL: database.url,
      SMTP_URL: sink.url,
      DATA_DIR: path.join(tempDir, "gateway"),
    },
    { profileDir: options.profileDir },
  );
  cleanup.add("gateway", () => gateway.child.stop());
  const ceiling = await startCeiling();
  cleanup.add("ceiling", () => ceiling.child.stop());
  const rss = new RssSampler(gateway.child.pid);
  cleanup.add("RSS sampler", () => rss.stop());
  const gatewayCommand = `node ${startScriptNodeOptions().join(" ")} dist/main.js (as npm start runs it)`;
  const gatewayEnvironment = `${Object.entries(gatewaySettings)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")}, JWT_SECRET set, SMTP to the sink`;
  say(`gateway ready: ${gatewayCommand} with ${gatewayEnvironment}`);

  const problems: string[] = [];
  const selected = (name: string) => !options.targets || options.targets.includes(name);
  const medusa = MEDUSA_TARGET_NAMES.some(selected)
    ? await startMedusa(database, jwtSecret, path.join(tempDir, "forwarder"), cleanup).catch((error: Error) => {
        if (signal.aborted) throw error;
        // Installed but broken: its targets are skipped, and the bench says something broke.
        problems.push(`Medusa did not start: ${error.message.split("\n")[0]}`);
        return { unavailable: `Medusa did not start (${error.message.split("\n")[0]})` };
      })
    : { unavailable: "no Medusa target selected" };
  if ("unavailable" in medusa && MEDUSA_TARGET_NAMES.some(selected))
    say(`Medusa's targets skipped: ${medusa.unavailable}`);
  throwIfInterrupted(signal);

  const plan = new ClaimPlan(fixtures);
  const targets = allTargets({
    fixtures,
    plan,
    sink,
    medusa: "unavailable" in medusa ? medusa : medusa.medusa,
  }).filter((target) => selected(target.name));
  const monitors: Monitors = {
    urls: { gateway: gateway.url, ceiling: ceiling.url, ...("unavailable" in medusa ? {} : medusa.urls) },
    pids: { gateway: gateway.child.pid, ceiling: ceiling.child.pid, ...("unavailable" in medusa ? {} : medusa.pids) },
    postmasterPid: database.postmasterPid,
    rss,
  };
  // A target run in turn with another (both selected) runs in one window with it, in its place.
  const schedule = targets.flatMap((target): (Target | [Target, Target])[] => {
    const partner = targets.find((other) => other.inTurnWith === target.name);
    if (partner) return [[target, partner]];
    return targets.some((other) => other.name === target.inTurnWith) ? [] : [target];
  });
  const loadS =
    schedule.filter((step) => ![step].flat().some((t) => t.unavailable)).length *
    (options.warmupS + options.passes * options.durationS);
  const minutes = loadS / 60;
  say(
    `${targets.length} targets, c=${options.connections}: a ${options.warmupS} s warm-up each, then ${options.passes} passes of ${options.durationS} s (about ${minutes.toFixed(1)} min of load)`,
  );

  const runs: RunResult[] = [];
  const servers: [string, () => string | undefined][] = [
    ["gateway", () => gateway.child.exited],
    ["ceiling", () => ceiling.child.exited],
  ];
  if (!("unavailable" in medusa))
    servers.push(["Medusa or the gateway in front of it", () => (medusa.alive() ? undefined : "gone")]);
  const deadServers = () =>
    servers.flatMap(([name, exited]) => {
      const how = exited();
      return how ? [`the ${name} exited during the bench (${how})`] : [];
    });
  const arrivals = new ArrivalsByHash(sink);
  const run = async (target: Target, pass: number) => {
    // Outside the measured window: neither its time nor its CPU counts in the run.
    const ordersRestored = target.kind === "claim" ? await restoreOrders(database.url, seededGuestOrders) : 0;
    const claimsBefore = target.kind === "claim" ? await countClaims(database.url) : undefined;
    // Runs never overlap: the claims opened from here until the next claim run are this run's.
    const runStartedAt = new Date();
    const result = await runTarget(
      target,
      pass,
      { durationS: pass === 0 ? options.warmupS : options.durationS, connections: options.connections },
      monitors,
      signal,
    );
    // A run cut short by a signal measured the servers stopping too.
    throwIfInterrupted(signal);
    if (claimsBefore) {
      await measureMailDrain(result, monitors, () => waitForOutboxDrain(database.url, MAIL_DRAIN_LIMIT_MS));
      // Counted after the mail-out, so that requests still in flight when the run stopped are in.
      const claimsAfter = await countClaims(database.url);
      result.ordersRestored = ordersRestored;
      result.claimsOpened = claimsAfter.total - claimsBefore.total;
      result.claimsSuperseded = claimsAfter.superseded - claimsBefore.superseded;
      result.mail = runMail(await readClaims(database.url, runStartedAt), arrivals, result.endedAt, MAIL_GRACE_MS);
    }
    record(result, pass);
  };
  /** Keeps a run's result and says what went wrong in it. */
  const record = (result: RunResult, pass: number) => {
    runs.push(result);
    say(describeRun(result, pass === 0 ? "warm-up" : `pass ${pass}/${options.passes}`));
    const which = `${result.target} ${pass === 0 ? "warm-up" : `pass ${pass}`}`;
    if (result.mailDrainedAfterS === null)
      problems.push(`${which}: the outbox still held mail ${MAIL_DRAIN_LIMIT_MS / 1000} s after the run`);
    if (result.claimsOpened !== undefined && openedTooFew(result.claimsOpened, result["2xx"])) {
      problems.push(
        `${which}: only ${result.claimsOpened} claims opened for ${result["2xx"]} claim requests answered 2xx: ` +
          "the run measured requests that did no work (orders no longer guest orders?)",
      );
    }
    const failed = result.non2xx + result.errors + result.mismatches;
    if (failed > HANDFUL) {
      problems.push(
        `${which}: ${failed} failed requests (status codes ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.mismatches} bad bodies)`,
      );
    }
  };
  const runInTurnAndRecord = async (pair: [Target, Target], pass: number) => {
    const durationS = pass === 0 ? options.warmupS : options.durationS;
    const results = await runInTurn(pair, pass, durationS, monitors, signal);
    throwIfInterrupted(signal);
    for (const result of results) record(result, pass);
  };
  loadLoop: for (let pass = 0; pass <= options.passes; pass++) {
    for (const step of schedule) {
      await (Array.isArray(step) ? runInTurnAndRecord(step, pass) : run(step, pass));
      if (deadServers().length > 0) break loadLoop;
    }
  }
  problems.push(...deadServers());

  const claimRuns = runs.filter((r) => targets.find((t) => t.name === r.target)?.kind === "claim");
  const lastClaimEndedAt = Math.max(startedAt.getTime(), ...claimRuns.map((r) => r.endedAt));
  say(`waiting up to ${MAIL_GRACE_MS / 1000} s for the mail to catch up`);
  const mail = await settleMail(database.url, sink, arrivals, lastClaimEndedAt, MAIL_GRACE_MS);
  if (mail.emailsWithoutToken > 0)
    problems.push(`${mail.emailsWithoutToken} emails had no claim token the sink could read`);

  // Read before it stops: the tree's members are gone after.
  const gatewayProcesses = rss.processPeaks();
  if (!gateway.child.exited) {
    await gateway.child.stop();
    if (gateway.child.exited !== "exit code 0")
      problems.push(`the gateway did not stop cleanly on SIGTERM (${gateway.child.exited})`);
  }

  const summary = summarise(targets, runs, options.connections);
  const claimsWithMail = summariseClaimsWithMail(runs);
  const measured: Omit<BenchReport, "issue20"> = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    commit,
    settings: {
      ...options,
      targets: targets.map((t) => t.name),
      database: database.kind,
      customers: CUSTOMERS,
      guestOrders: GUEST_ORDERS,
      gatewayCommand,
      gatewayEnvironment,
    },
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    medusa:
      "unavailable" in medusa
        ? `skipped: ${medusa.unavailable}`
        : "Medusa 1.20.11 (the test server) and a gateway in front of it",
    runs,
    summary,
    claimsWithMail,
    ratios: ratios(summary),
    gatewayPeakRssBytes: Math.max(0, ...gatewayProcesses.map((p) => p.peakRssBytes)),
    gatewayProcesses,
    gatewayPeakTreeRssBytes: rss.peakTotal,
    baseline: compareWithBaseline(machine, summary, claimsWithMail),
    claims: {
      requestsAnswered2xx: claimRuns.reduce((total, r) => total + r["2xx"], 0),
      openedDuringRuns: claimRuns.reduce((total, r) => total + (r.claimsOpened ?? 0), 0),
      ordersRestored: claimRuns.reduce((total, r) => total + (r.ordersRestored ?? 0), 0),
    },
    mail,
    gatewayLog: summariseLog(gateway.child.outputLines),
    problems,
  };
  const report: BenchReport = { ...measured, issue20: issue20Targets(measured) };
  printReport(report);
  say(`\nraw results: ${path.relative(process.cwd(), writeResults(ROOT, report))}`);
  return problems.length > 0 ? 1 : 0;
}

function describeRun(r: RunResult, label: string): string {
  const head = `  ${label.padEnd(9)} ${r.target.padEnd(21)}`;
  if (r.skipped) return `${head} skipped: ${r.skipped}`;
  const cpu = `${r.cpuMsPerRequest.node.toFixed(2)}${r.cpuMsPerRequest.postgres === null ? "" : ` + ${r.cpuMsPerRequest.postgres.toFixed(2)}`}`;
  const load = `${Math.round((100 * r.cpuMs.bench) / (r.durationS * 1000))}%`;
  return (
    `${head} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${latency(r.exactLatencyMs?.p50 ?? r.p50Ms)} ms  p99 ${latency(r.exactLatencyMs?.p99 ?? r.p99Ms)} ms  non-2xx ${r.non2xx}  errors ${r.errors + r.mismatches}  ` +
    `CPU ${cpu} ms/req  load generator ${load} of a core${r.stoppedEarly ? `  (stopped early: ${r.stoppedEarly})` : ""}` +
    mailLine(r) +
    claimsLine(r) +
    keptUpLine(r)
  );
}

/** Whether the mail kept up with the run's claims: by arrival at the sink, not by the outbox's drain. */
function keptUpLine(r: RunResult): string {
  if (!r.mail) return "";
  const { owed, emailedInTime, backlogAtEnd, maxBacklog } = r.mail;
  return `  ${emailedInTime}/${owed} owed emails sent by its end + ${MAIL_GRACE_MS / 1000} s, backlog at its end ${backlogAtEnd}, at most ${maxBacklog}`;
}

function mailLine(r: RunResult): string {
  if (r.mailDrainedAfterS === undefined) return "";
  if (r.mailDrainedAfterS === null) return "  mail NOT sent within the limit";
  return `  mail all sent ${r.mailDrainedAfterS.toFixed(1)} s after`;
}

/** A claim run's claims opened (each owes an email), loudly when far fewer than the requests answered. */
function claimsLine(r: RunResult): string {
  if (r.claimsOpened === undefined) return "";
  const superseded = r.claimsSuperseded ? ` (${r.claimsSuperseded} superseded)` : "";
  const restored = r.ordersRestored ? `, ${r.ordersRestored} confirmed orders put back as guest orders before it` : "";
  if (openedTooFew(r.claimsOpened, r["2xx"]))
    return `  WARNING: only ${r.claimsOpened} claims opened${superseded} for ${r["2xx"]} 2xx${restored}`;
  return `  ${r.claimsOpened} claims opened${superseded}${restored}`;
}

/** Counts the gateway's log lines by level and keeps the first of each distinct message. */
function summariseLog(lines: string[]): BenchReport["gatewayLog"] {
  const byLevel: Record<string, number> = {};
  const seen = new Set<string>();
  const first: string[] = [];
  for (const line of lines.filter((l) => l.trim())) {
    let key: string;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      key = `${entry.level}: ${entry.msg}`;
      byLevel[entry.level ?? "?"] = (byLevel[entry.level ?? "?"] ?? 0) + 1;
    } catch {
      key = line;
      byLevel["not JSON"] = (byLevel["not JSON"] ?? 0) + 1;
    }
    if (!seen.has(key) && first.length < 20) {
      seen.add(key);
      first.push(line);
    }
  }
  return { lines: lines.filter((l) => l.trim()).length, byLevel, first };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env, [...TARGET_NAMES]);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  // Handled, so that a Ctrl-C stops the load and still stops every process and removes the temp
  // dir; further signals during that change nothing.
  const interrupt = new AbortController();
  for (const name of STOP_SIGNALS) process.on(name, () => interrupt.abort(name));
  const cleanup = new Cleanup();
  try {
    return await bench(options, cleanup, interrupt.signal);
  } catch (error) {
    // A signal may also surface as another error: a terminal's Ctrl-C stops PostgreSQL too.
    if (!interrupt.signal.aborted) throw error;
    console.error(`\ninterrupted by ${String(interrupt.signal.reason)}: stopping`);
    return 130;
  } finally {
    await cleanup.run();
  }
}

// process.exit: a library's leftover handle (a pool's idle timer, say) must not keep the bench alive.
main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
