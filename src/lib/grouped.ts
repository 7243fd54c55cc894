/**
 * gatherMs for background work (the job worker's reads and marks): jobs fetched together start a
 * moment apart, and no client waits for them.
 */
export const BACKGROUND_GATHER_MS = 2;

export interface GroupOptions<T> {
  /**
   * Calls running at once (default 1). More than one keeps several of a database's cores busy
   * while a batch is written; one keeps the batches largest.
   */
  inFlight?: number;
  /**
   * Items with the same key are never in two calls running at once: a later one waits for the
   * call that has the earlier, so that they are run in the order given.
   */
  keyOf?: (item: T) => string;
  /**
   * How long the first item of a batch waits for others before the call (default 0: only until the
   * current synchronous code is done). For background work whose items start a moment apart.
   */
  gatherMs?: number;
}

/**
 * Calls `run` with the items given while fewer than `inFlight` calls are running, and with those
 * that come in meanwhile once one ends (a group commit): each item's promise settles with the
 * call that took it, with the result at its position.
 */
export function grouped<T, R>(
  run: (items: T[]) => Promise<R[]>,
  options: GroupOptions<T> = {},
): (item: T) => Promise<R> {
  const inFlight = options.inFlight ?? 1;
  const keyOf = options.keyOf;
  const gatherMs = options.gatherMs ?? 0;
  let waiting: { item: T; settle: (result: Promise<R>) => void }[] = [];
  let running = 0;
  let scheduled = false;
  /** The keys of the items in calls running now. */
  const busy = new Map<string, number>();
  const next = () => {
    scheduled = false;
    if (running >= inFlight || waiting.length === 0) return;
    const free = keyOf ? waiting.filter((entry) => !busy.has(keyOf(entry.item))) : waiting;
    if (free.length === 0) return;
    waiting = keyOf ? waiting.filter((entry) => busy.has(keyOf(entry.item))) : [];
    const keys = keyOf ? free.map((entry) => keyOf(entry.item)) : [];
    for (const key of keys) busy.set(key, (busy.get(key) ?? 0) + 1);
    running++;
    const call = Promise.resolve().then(() => run(free.map((entry) => entry.item)));
    free.forEach((entry, position) => entry.settle(call.then((results) => results[position]!)));
    call
      .catch(() => {})
      .finally(() => {
        for (const key of keys) {
          const count = busy.get(key)! - 1;
          if (count === 0) busy.delete(key);
          else busy.set(key, count);
        }
        running--;
        next();
      });
  };
  return (item) =>
    new Promise<R>((resolve) => {
      waiting.push({ item, settle: resolve });
      // After the current synchronous code: items given together go together.
      if (!scheduled) {
        scheduled = true;
        if (gatherMs > 0) setTimeout(next, gatherMs);
        else queueMicrotask(next);
      }
    });
}
