import { grouped } from "../src/lib/grouped";

/** A batch function whose calls finish when told, recording what each call got. */
function controlled() {
  const calls: { items: string[]; finish: (error?: Error) => void }[] = [];
  const run = (items: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, finish: (error) => (error ? reject(error) : resolve(items.map((item) => `${item}!`))) });
    });
  return { calls, run };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("grouped", () => {
  it("sends items given together in one call, and those that come while it runs in the next", async () => {
    const { calls, run } = controlled();
    const call = grouped(run);
    const first = [call("a"), call("b")];
    await settled();
    const later = [call("c"), call("d")];
    await settled();
    expect(calls.map((c) => c.items)).toEqual([["a", "b"]]);
    calls[0]!.finish();
    expect(await Promise.all(first)).toEqual(["a!", "b!"]);
    await settled();
    expect(calls.map((c) => c.items)).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    calls[1]!.finish();
    expect(await Promise.all(later)).toEqual(["c!", "d!"]);
  });

  it("runs up to inFlight calls at once", async () => {
    const { calls, run } = controlled();
    const call = grouped(run, { inFlight: 2 });
    void call("a");
    await settled();
    void call("b");
    await settled();
    void call("c");
    await settled();
    expect(calls.map((c) => c.items)).toEqual([["a"], ["b"]]);
    calls[1]!.finish();
    await settled();
    expect(calls.map((c) => c.items)).toEqual([["a"], ["b"], ["c"]]);
  });

  it("never runs two items of one key at once: the later waits for the earlier's call, in order", async () => {
    const { calls, run } = controlled();
    const call = grouped(run, { inFlight: 2, keyOf: (item: string) => item[0]! });
    void call("x1");
    await settled();
    void call("x2");
    void call("y1");
    void call("x3");
    await settled();
    // y1 runs beside x1; x2 and x3 wait for x1's call, then go together, in the order given.
    expect(calls.map((c) => c.items)).toEqual([["x1"], ["y1"]]);
    calls[1]!.finish();
    await settled();
    expect(calls.map((c) => c.items)).toEqual([["x1"], ["y1"]]);
    calls[0]!.finish();
    await settled();
    expect(calls.map((c) => c.items)).toEqual([["x1"], ["y1"], ["x2", "x3"]]);
  });

  it("fails only the items of a call that failed; the next call runs", async () => {
    const { calls, run } = controlled();
    const call = grouped(run);
    const failing = call("a");
    await settled();
    const next = call("b");
    calls[0]!.finish(new Error("the database is down"));
    await expect(failing).rejects.toThrow("the database is down");
    await settled();
    calls[1]!.finish();
    expect(await next).toBe("b!");
  });

  it("waits gatherMs for items that come a moment apart, and sends them in one call", async () => {
    const { calls, run } = controlled();
    const call = grouped(run, { gatherMs: 20 });
    void call("a");
    await new Promise((resolve) => setTimeout(resolve, 5));
    void call("b");
    await settled();
    expect(calls).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls.map((c) => c.items)).toEqual([["a", "b"]]);
  });
});
