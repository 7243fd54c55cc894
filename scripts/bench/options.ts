import { parseArgs } from "node:util";
import { MEDUSA_TARGET_NAMES, TARGET_NAMES } from "./targets";

export interface BenchOptions {
  /** Seconds of each measured run. */
  durationS: number;
  /** Seconds of each target's warm-up run, before the first pass. */
  warmupS: number;
  passes: number;
  connections: number;
  /** The gateway's WEB_CONCURRENCY; unset: its default. */
  webConcurrency: number | undefined;
  /** Target names to run; unset: all. */
  targets: string[] | undefined;
  /** Where the gateway writes a CPU profile (`--cpu-prof`) when it stops; unset: none. */
  profileDir: string | undefined;
}

export const USAGE = `npm run bench [-- OPTIONS]   (each also settable as an environment variable)
  --duration SECONDS      each measured run (BENCH_DURATION, default 6)
  --warmup SECONDS        each target's warm-up, before the first pass (BENCH_WARMUP, default 2)
  --passes N              interleaved passes over the targets (BENCH_PASSES, default 3)
  --connections N         autocannon connections (BENCH_CONNECTIONS, default 10)
  --web-concurrency N     the gateway's web workers, WEB_CONCURRENCY (BENCH_WEB_CONCURRENCY, default: the gateway's)
  --targets A,B,...       only these targets (BENCH_TARGETS, default all), of:
                          ${TARGET_NAMES.filter((name) => !MEDUSA_TARGET_NAMES.includes(name)).join(", ")};
                          with Medusa: ${MEDUSA_TARGET_NAMES.join(", ")}
                          (medusa-claim-1: Medusa's own claim route; products-*: GET /store/products from Medusa,
                          and through a gateway in front of it; -c1: at 1 connection)
  --profile DIR           the gateway writes a V8 CPU profile (.cpuprofile) into DIR when it stops (BENCH_PROFILE)
DATABASE_URL: bench on a fresh database on that server instead of the embedded PostgreSQL.
Medusa's targets need the Medusa v1 test server (npm ci --prefix medusa-v1-server); without it they are skipped.
Before/after: this run's figures beside scripts/bench/baseline.json's (issue 20's starting point).`;

export class UsageError extends Error {}

function optionalCount(name: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(positive(name, value, 1));
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number (got "${value}")`);
  return n;
}

/**
 * The defaults (14 targets × (2 s + 3 × 6 s) = 4.7 min of load, plus the build, seeding, Medusa's
 * start, the mail-outs after the 12 claim runs and the final wait for mail) finish in five to six
 * minutes on the development machine (5.5 min measured at de2f0cd).
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, knownTargets: string[]): BenchOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        duration: { type: "string" },
        warmup: { type: "string" },
        passes: { type: "string" },
        connections: { type: "string" },
        "web-concurrency": { type: "string" },
        targets: { type: "string" },
        profile: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  const targetList = values.targets ?? env.BENCH_TARGETS;
  const targets = targetList
    ?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = targets?.filter((name) => !knownTargets.includes(name)) ?? [];
  if (unknown.length > 0)
    throw new UsageError(`unknown target(s) ${unknown.join(", ")}; known: ${knownTargets.join(", ")}`);
  return {
    durationS: positive("--duration", values.duration ?? env.BENCH_DURATION, 6),
    warmupS: positive("--warmup", values.warmup ?? env.BENCH_WARMUP, 2),
    passes: Math.round(positive("--passes", values.passes ?? env.BENCH_PASSES, 3)),
    connections: Math.round(positive("--connections", values.connections ?? env.BENCH_CONNECTIONS, 10)),
    webConcurrency: optionalCount("--web-concurrency", values["web-concurrency"] ?? env.BENCH_WEB_CONCURRENCY),
    targets,
    profileDir: values.profile ?? env.BENCH_PROFILE,
  };
}
