import { logEntries, type TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";

const { orders } = claimScenario;
const fixture = useClaimFixture();
let t: TestGateway;
let annToken: string;
beforeAll(() => ({ t, annToken } = fixture));

/** Makes every claim write fail the way a broken database would, for the duration of `work`. */
async function withBrokenClaimTable(work: () => Promise<void>): Promise<void> {
  await t.prisma.$executeRawUnsafe(`ALTER TABLE "ordergate"."order_claim" RENAME TO "order_claim_away"`);
  try {
    await work();
  } finally {
    await t.prisma.$executeRawUnsafe(`ALTER TABLE "ordergate"."order_claim_away" RENAME TO "order_claim"`);
  }
}

describe("an unexpected failure", () => {
  it("is Medusa's masked 500 on REST, and logged", async () => {
    await withBrokenClaimTable(async () => {
      const response = await t.request("POST", "/store/orders/batch/customer/token", {
        bearer: annToken,
        body: { order_ids: [orders.work1.id] },
      });
      expect(response.status).toBe(500);
      expect(response.json).toEqual({
        code: "unknown_error",
        type: "unknown_error",
        message: "An unknown error occurred.",
      });
      expect(response.text).not.toContain("order_claim");
    });
    const errors = logEntries(t).filter((entry) => entry.level === "error");
    // The cause, with its stack, once; and the request line, with the route and the 500.
    const causes = errors.filter((entry) => entry.msg === "unexpected error in GraphQL");
    expect(causes).toHaveLength(1);
    expect(JSON.stringify(causes[0]!.err)).toContain('relation \\"order_claim\\" does not exist');
    expect(errors).toContainEqual(
      expect.objectContaining({
        msg: "request failed",
        method: "POST",
        route: "/store/orders/batch/customer/token",
        status: 500,
      }),
    );
  });

  it("is a masked GraphQL error, and nothing is half-written", async () => {
    await withBrokenClaimTable(async () => {
      const result = await t.graphql<{ claimOrders: unknown }>(
        "mutation($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename } }",
        { ids: [orders.work1.id] },
        annToken,
      );
      expect(result.data).toBeNull();
      expect(result.errors).toEqual([expect.objectContaining({ message: "Unexpected error." })]);
    });
    expect(await t.prisma.outboxEvent.count()).toBe(0);
    expect(
      logEntries(t).some((entry) => entry.level === "error" && JSON.stringify(entry.err).includes("order_claim")),
    ).toBe(true);
  });
});
