// Preloaded into a server by `scripts/measure-subscriptions.ts` (`node --expose-gc --import`):
// on SIGUSR2 it collects garbage and prints the process's memory use as one JSON line.
process.on("SIGUSR2", () => {
  globalThis.gc();
  globalThis.gc();
  process.stdout.write(`memory ${JSON.stringify(process.memoryUsage())}\n`);
});
