/**
 * Calls `run` with the items given while no call is running, and again with those that come in
 * meanwhile (a group commit): each item's promise settles with the call that took it, with the
 * result at its position.
 */
export function grouped<T, R>(run: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let waiting: T[] = [];
  let nextCall: Promise<R[]> | undefined;
  let lastCall: Promise<unknown> = Promise.resolve();
  return (item) => {
    const position = waiting.push(item) - 1;
    nextCall ??= lastCall.then(() => {
      const items = waiting;
      waiting = [];
      nextCall = undefined;
      return run(items);
    });
    lastCall = nextCall.catch(() => {});
    return nextCall.then((results) => results[position]!);
  };
}
