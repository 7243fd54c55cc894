import cluster, { type Worker } from "node:cluster";
import { setMaxListeners } from "node:events";

/**
 * Events between the processes of one gateway (its web workers and its job worker, Node's
 * `cluster`) when there is no Redis: a process sends its events to the primary, which hands them to
 * every process, the sender included, so all of them hear them the same way (as through Redis).
 * Events dispatched in the same turn of the event loop (a job's status events) travel as one
 * message: one write to the primary and one from it to each process, whatever their number.
 */
interface RelayedEvents {
  ordergate: "events";
  events: { type: string; detail: unknown }[];
}

const isRelayedEvents = (message: unknown): message is RelayedEvents =>
  typeof message === "object" &&
  message !== null &&
  (message as RelayedEvents).ordergate === "events" &&
  Array.isArray((message as RelayedEvents).events);

/** True in a process the supervisor started (it can reach the others through the primary). */
export const inGatewayCluster = (): boolean => cluster.isWorker && process.send !== undefined;

export interface ProcessEventTarget {
  eventTarget: EventTarget;
  /** The last event's hand-over to the primary: resolves once it has it, rejects when the primary is gone. */
  lastPublish(): Promise<unknown>;
}

/** A worker's event target: dispatched events go to every process; events from any process are dispatched here. */
export function processEventTarget(): ProcessEventTarget {
  const local = new EventTarget();
  setMaxListeners(0, local);
  process.on("message", (message: unknown) => {
    if (!isRelayedEvents(message)) return;
    for (const { type, detail } of message.events) local.dispatchEvent(new CustomEvent(type, { detail }));
  });
  /** The events of this turn, sent together once it ends. */
  let batch: RelayedEvents["events"] | undefined;
  let last: Promise<unknown> = Promise.resolve();
  const eventTarget = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      if (!batch) {
        const events: RelayedEvents["events"] = (batch = []);
        last = new Promise<void>((resolve, reject) =>
          setImmediate(() => {
            batch = undefined;
            const message: RelayedEvents = { ordergate: "events", events };
            process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
          }),
        );
      }
      batch.push({ type: event.type, detail: (event as CustomEvent).detail });
      return true;
    },
  } as EventTarget;
  return { eventTarget, lastPublish: () => last };
}

/** The primary's side: every event a worker sends goes to every worker. */
export function relayEventsBetweenWorkers(): void {
  cluster.on("message", (_sender: Worker, message: unknown) => {
    if (!isRelayedEvents(message)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      // A worker that is exiting may be gone by now: it needs nothing more.
      if (worker?.isConnected()) worker.send(message, undefined, () => {});
    }
  });
}

interface PrimaryRequest {
  ordergate: "request";
  id: number;
  what: string;
}

interface PrimaryAnswer {
  ordergate: "answer";
  id: number;
  value?: unknown;
  error?: string;
}

let lastRequestId = 0;
const PRIMARY_ANSWER_TIMEOUT_MS = 10_000;

/** Asks the primary for something it answers (answerWorkers): one IPC round trip. */
export function requestFromPrimary<T>(what: string): Promise<T> {
  const id = ++lastRequestId;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: PrimaryAnswer) => {
      if (message?.ordergate !== "answer" || message.id !== id) return;
      settle();
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.value as T);
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`the primary did not answer "${what}" within ${PRIMARY_ANSWER_TIMEOUT_MS} ms`));
    }, PRIMARY_ANSWER_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(timer);
      process.off("message", onMessage);
    };
    process.on("message", onMessage);
    const request: PrimaryRequest = { ordergate: "request", id, what };
    process.send!(request, undefined, {}, (error) => {
      if (!error) return;
      settle();
      reject(error);
    });
  });
}

/** The primary's side of requestFromPrimary for `what`. */
export function answerWorkers(what: string, answer: () => Promise<unknown>): void {
  cluster.on("message", (worker: Worker, message: PrimaryRequest) => {
    if (message?.ordergate !== "request" || message.what !== what) return;
    answer().then(
      (value) => send(worker, { ordergate: "answer", id: message.id, value }),
      (error: Error) => send(worker, { ordergate: "answer", id: message.id, error: error.message }),
    );
  });
}

function send(worker: Worker, message: PrimaryAnswer): void {
  if (worker.isConnected()) worker.send(message, undefined, () => {});
}
