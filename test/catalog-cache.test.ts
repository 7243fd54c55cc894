import { CatalogCache, MemoryCacheStore } from "../src/store/catalog-cache";
import { sleep } from "./support/wait";

describe("the storefront's catalog cache", () => {
  it("keeps an answer for its TTL, then reads it again", async () => {
    const cache = new CatalogCache(new MemoryCacheStore(), 100);
    let reads = 0;
    const load = async () => `answer ${++reads}`;
    expect(await cache.read("k", load)).toBe("answer 1");
    expect(await cache.read("k", load)).toBe("answer 1");
    await sleep(150);
    expect(await cache.read("k", load)).toBe("answer 2");
  });

  it("shares one read among concurrent misses, and keeps no failure", async () => {
    const cache = new CatalogCache(new MemoryCacheStore(), 60_000);
    let reads = 0;
    const failing = async () => {
      reads += 1;
      await sleep(20);
      throw new Error("Medusa down");
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => cache.read("k", failing)));
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(reads).toBe(1);
    expect(await cache.read("k", async () => "back")).toBe("back");
  });

  it("with a TTL of 0 keeps nothing", async () => {
    const cache = new CatalogCache(new MemoryCacheStore(), 0);
    let reads = 0;
    await cache.read("k", async () => `${++reads}`);
    await cache.read("k", async () => `${++reads}`);
    expect(reads).toBe(2);
  });

  it("holds at most 1000 answers and 16 MB of them however many different reads are asked for", async () => {
    const store = new MemoryCacheStore();
    for (let index = 0; index < 1500; index += 1) await store.set(`k${index}`, "x", 60_000);
    expect(await store.get("k0")).toBeUndefined();
    expect(await store.get("k499")).toBeUndefined();
    expect(await store.get("k500")).toBe("x");
    expect(await store.get("k1499")).toBe("x");

    const big = "y".repeat(4 * 1024 * 1024);
    for (let index = 0; index < 5; index += 1) await store.set(`big${index}`, big, 60_000);
    // 5 x 4 MB: the oldest went to stay within 16 MB.
    expect(await store.get("big0")).toBeUndefined();
    expect(await store.get("big4")).toBe(big);
    // One answer larger than the whole budget is not kept at all.
    await store.set("huge", "z".repeat(17 * 1024 * 1024), 60_000);
    expect(await store.get("huge")).toBeUndefined();
    expect(await store.get("big4")).toBe(big);
  });
});
