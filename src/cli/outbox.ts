import {
  listParkedOutboxEvents,
  OutboxRequeueError,
  type ParkedOutboxEvent,
  requeueParkedOutboxEvents,
} from "../jobs/outbox-jobs";
import { runCommand, withStartDatabase } from "./command";

const USAGE = `usage: npm run outbox -- list-parked
       npm run outbox -- requeue ID... | --all
`;

type Command = { name: "list-parked" } | { name: "requeue"; which: bigint[] | "all" };

/** The command, or what is wrong with the arguments. Checked before the database is opened. */
function parseArguments(args: string[]): Command | string {
  const [name, ...rest] = args;
  if (name === "list-parked")
    return rest.length === 0 ? { name } : `list-parked takes no arguments (got: ${rest.join(" ")})`;
  if (name === "requeue") {
    if (rest.length === 0) return "requeue needs the ids of parked events (see list-parked), or --all";
    if (rest.includes("--all"))
      return rest.length === 1 ? { name, which: "all" } : "requeue takes event ids or --all, not both";
    // An outbox id is a positive bigint (at most 19 digits; 18 keeps it below the maximum).
    const bad = rest.filter((arg) => !/^[1-9]\d{0,17}$/.test(arg));
    if (bad.length > 0) return `not an outbox event id: ${bad.join(", ")}`;
    return { name, which: [...new Set(rest)].map(BigInt) };
  }
  return name === undefined ? "no command given" : `unknown command: ${name}`;
}

function table(events: ParkedOutboxEvent[]): string {
  const rows = [
    ["ID", "TOPIC", "ATTEMPTS", "PARKED AT", "LAST ERROR"],
    ...events.map((e) => [
      String(e.id),
      e.topic,
      String(e.attempts),
      e.parked_at.toISOString(),
      (e.last_error ?? "").replace(/\s+/g, " ").slice(0, 200),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "),
    )
    .join("\n");
}

/**
 * `npm run outbox -- list-parked | requeue ID... | requeue --all`: same settings and database as
 * `npm start`, running or not. Exit codes: 0 done, 1 refused or failed, 2 bad arguments.
 */
async function main(): Promise<number> {
  const command = parseArguments(process.argv.slice(2));
  if (typeof command === "string") {
    process.stderr.write(`${command}\n${USAGE}`);
    return 2;
  }
  return withStartDatabase(async (prisma) => {
    if (command.name === "list-parked") {
      const events = await listParkedOutboxEvents(prisma);
      process.stdout.write(events.length === 0 ? "no parked outbox events\n" : `${table(events)}\n`);
      return 0;
    }
    let count: number;
    try {
      count = await requeueParkedOutboxEvents(prisma, command.which);
    } catch (error) {
      if (!(error instanceof OutboxRequeueError)) throw error;
      process.stderr.write(`requeue refused, nothing was re-queued:\n${error.message}\n`);
      return 1;
    }
    process.stdout.write(
      count === 0
        ? "no parked outbox events to re-queue\n"
        : `re-queued ${count} outbox event${count === 1 ? "" : "s"}; ` +
            `a running gateway delivers ${count === 1 ? "it" : "them"} at its next poll\n`,
    );
    return 0;
  });
}

runCommand("outbox command", main);
