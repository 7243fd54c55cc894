import type { ClaimFeedMessage } from "../src/events/event-bus";
import { createEventBus } from "../src/events/event-bus";
import { createLogger } from "../src/lib/logger";

/** The in-process event bus on its own: no database, no HTTP. */
const update = (n: number) => ({
  claimId: `oclaim_${n}`,
  claimerCustomerId: "cus_ann",
  status: "PENDING" as const,
  at: new Date(0).toISOString(),
});

describe("claim status streams", () => {
  it("hold a slow reader's backlog bounded: the oldest messages give way to a resync, nothing throws", async () => {
    const bus = createEventBus({ redisUrl: undefined }, createLogger("silent"));
    const stream = bus.claimUpdates("cus_ann");
    const first = stream.next(); // starts listening
    for (let n = 0; n < 5_000; n++) await bus.publishClaimUpdate(update(n));
    expect((await first).value).toEqual({ kind: "update", update: update(0) });

    const backlog: ClaimFeedMessage[] = [];
    for (;;) {
      const next = await Promise.race([
        stream.next(),
        new Promise<"idle">((resolve) => setTimeout(() => resolve("idle"), 50)),
      ]);
      if (next === "idle") break;
      backlog.push(next.value);
    }
    expect(backlog.length).toBe(64);
    expect(backlog.at(-1)).toEqual({ kind: "resync" });
    await bus.close();
  });

  it("go to their own customer only, and all end when the bus ends its subscriptions", async () => {
    const bus = createEventBus({ redisUrl: undefined }, createLogger("silent"));
    const anns = bus.claimUpdates("cus_ann");
    const bobs = bus.claimUpdates("cus_bob");
    const [annNext, bobNext] = [anns.next(), bobs.next()];
    expect(bus.openSubscriptions()).toBe(2);
    await bus.publishClaimUpdate(update(1));
    expect((await annNext).value).toEqual({ kind: "update", update: update(1) });
    bus.endSubscriptions();
    expect(await bobNext).toEqual({ done: true, value: undefined });
    expect(await anns.next()).toEqual({ done: true, value: undefined });
    expect(bus.openSubscriptions()).toBe(0);
    // Opened after the end: ends at once.
    expect(await bus.claimUpdates("cus_ann").next()).toEqual({ done: true, value: undefined });
    await bus.close();
  });
});
