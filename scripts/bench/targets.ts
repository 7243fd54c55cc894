import type autocannon from "autocannon";
import { type ClaimPlan, type Fixtures, randomIndex } from "./fixtures";
import type { MedusaFixtures } from "./medusa";
import type { SmtpSink } from "./smtp-sink";

/**
 * The processes requests go to: the gateway, the ceiling, Medusa v1 (the test server), and a
 * second gateway in front of Medusa on Medusa's database, forwarding what it does not answer itself.
 */
export type Server = "gateway" | "ceiling" | "medusa" | "forwarder";

/** Every target, in the order each pass runs them: claims first, so that confirm has tokens. */
export const TARGET_NAMES = [
  "ceiling",
  "auth",
  "claim-rest-1",
  "claim-graphql-1",
  "claim-rest-10",
  "confirm-rest",
  "customer-orders",
  "order-lookup",
  "graphql-me-orders",
  "medusa-claim-1",
  "products-medusa-c1",
  "products-forwarded-c1",
  "products-medusa",
  "products-forwarded",
] as const;

/** The targets that need Medusa: skipped, not failed, without it. */
export const MEDUSA_TARGET_NAMES: readonly TargetName[] = TARGET_NAMES.filter(
  (name) => name.startsWith("medusa-") || name.startsWith("products-"),
);

export type TargetName = (typeof TARGET_NAMES)[number];

export interface Target {
  name: TargetName;
  server: Server;
  /** Whose CPU is the `node` column (default: the server's): forwarded requests cost Medusa's too. */
  cpuOf?: Server[];
  /** Its own connection count instead of the bench's (latency at one connection). */
  connections?: number;
  /** Time every response to a fraction of a millisecond (autocannon's percentiles are whole ones). */
  exactLatency?: boolean;
  /**
   * Run in one window with this target, a request to each in turn at one connection, instead of
   * one after the other (when both are selected): the latencies of the two then compare.
   */
  inTurnWith?: TargetName;
  /** Why it cannot run in this bench (Medusa not installed): its runs are skipped. */
  unavailable?: string;
  /** Claims open claims (and owe emails); confirms use the tokens those emails carry. */
  kind: "baseline" | "claim" | "confirm" | "read";
  description: string;
  /** The request autocannon sends, rebuilt by `setupRequest` before each one. */
  request: autocannon.Request;
  /** A 200 whose body says the operation failed (GraphQL) counts as a mismatch. */
  verifyBody?: autocannon.Options["verifyBody"];
  /** Most requests this run may send (confirm: one per unused token); unset: as many as fit the duration. */
  budget?: () => number;
}

export interface TargetContext {
  fixtures: Fixtures;
  plan: ClaimPlan;
  sink: SmtpSink;
  /** Medusa's claimers and guest orders when it runs, or why it does not. */
  medusa: MedusaFixtures | { unavailable: string };
}

const JSON_HEADERS = { "content-type": "application/json" };

const bearerHeader = (bearer: string) => ({ authorization: `Bearer ${bearer}` });
const bearerHeaders = (bearer: string) => ({ ...JSON_HEADERS, ...bearerHeader(bearer) });
const randomBearer = (fixtures: Fixtures) => fixtures.bearers[randomIndex(fixtures.bearers.length)]!;

const CLAIM_MUTATION =
  "mutation Claim($orderIds: [ID!]!) { claimOrders(orderIds: $orderIds) { __typename ... on ClaimOrdersSuccess { claims { id status } } ... on Error { code message } } }";
const ME_ORDERS_QUERY = "{ me { orders(first: 10) { edges { node { id displayId } } } } }";

function restClaim(name: TargetName, ids: number, { plan }: TargetContext): Target {
  return {
    name,
    server: "gateway",
    kind: "claim",
    description: `POST /store/orders/batch/customer/token, ${ids} guest order id${ids > 1 ? "s" : ""}, a random one of the customers`,
    request: {
      method: "POST",
      path: "/store/orders/batch/customer/token",
      setupRequest: (request) => {
        const { bearer, orderIds } = plan.next(ids);
        return { ...request, headers: bearerHeaders(bearer), body: JSON.stringify({ order_ids: orderIds }) };
      },
    },
  };
}

/** `GET /store/products` (Medusa's default page, with its relations) from Medusa or through the forwarder. */
function products(name: TargetName, server: "medusa" | "forwarder", connections: number | undefined): Target {
  return {
    name,
    server,
    ...(server === "forwarder" ? { cpuOf: ["forwarder", "medusa"] } : {}),
    ...(connections === undefined ? {} : { connections }),
    // At one connection, direct and forwarded requests alternate: the added median is then the hop's.
    ...(connections === 1 && server === "forwarder" ? { inTurnWith: "products-medusa-c1" as const } : {}),
    exactLatency: true,
    kind: "read",
    description: `GET /store/products ${server === "medusa" ? "from Medusa directly" : "through a gateway in front of Medusa"}${connections === undefined ? "" : `, ${connections} connection`}`,
    request: { method: "GET", path: "/store/products" },
  };
}

/** The targets of TARGET_NAMES, in that order. */
export function allTargets(context: TargetContext): Target[] {
  const { fixtures, plan, sink, medusa } = context;
  const medusaTargets: Target[] = [
    {
      name: "medusa-claim-1",
      server: "medusa",
      kind: "baseline",
      description:
        "Medusa's own POST /store/orders/batch/customer/token, 1 guest order id, a random one of Medusa's customers (it mails nothing)",
      request: {
        method: "POST",
        path: "/store/orders/batch/customer/token",
        setupRequest: (request) => {
          if ("unavailable" in medusa) return request;
          const customer = randomIndex(medusa.bearers.length);
          const order = medusa.guestOrderIds[randomIndex(medusa.guestOrderIds.length)]!;
          return {
            ...request,
            headers: bearerHeaders(medusa.bearers[customer]!),
            body: JSON.stringify({ order_ids: [order] }),
          };
        },
      },
    },
    products("products-medusa-c1", "medusa", 1),
    products("products-forwarded-c1", "forwarder", 1),
    products("products-medusa", "medusa", undefined),
    products("products-forwarded", "forwarder", undefined),
  ];
  if ("unavailable" in medusa) for (const target of medusaTargets) target.unavailable = medusa.unavailable;
  return [
    {
      name: "ceiling",
      server: "ceiling",
      kind: "baseline",
      description: "GET / on a bare node:http server answering {}",
      request: { method: "GET", path: "/" },
    },
    {
      name: "auth",
      server: "gateway",
      kind: "baseline",
      description: "GET /store/auth with a bearer (HTTP + auth floor)",
      request: {
        method: "GET",
        path: "/store/auth",
        setupRequest: (request) => ({ ...request, headers: bearerHeader(randomBearer(fixtures)) }),
      },
    },
    restClaim("claim-rest-1", 1, context),
    {
      name: "claim-graphql-1",
      server: "gateway",
      kind: "claim",
      description: "POST /graphql claimOrders, 1 guest order id",
      request: {
        method: "POST",
        path: "/graphql",
        setupRequest: (request) => {
          const { bearer, orderIds } = plan.next(1);
          return {
            ...request,
            headers: bearerHeaders(bearer),
            body: JSON.stringify({ query: CLAIM_MUTATION, variables: { orderIds } }),
          };
        },
      },
      verifyBody: (body) => String(body).includes('"ClaimOrdersSuccess"'),
    },
    restClaim("claim-rest-10", 10, context),
    {
      name: "confirm-rest",
      server: "gateway",
      kind: "confirm",
      description: "POST /store/orders/customer/confirm, each token from the SMTP sink used once",
      request: {
        method: "POST",
        path: "/store/orders/customer/confirm",
        headers: JSON_HEADERS,
        // `budget` holds the run to the tokens available, so one is always there; the fallback
        // would be answered 400 and show as a non-2xx.
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ token: sink.takeToken() ?? "no-token-left" }),
        }),
      },
      budget: () => sink.available,
    },
    {
      name: "customer-orders",
      server: "gateway",
      kind: "read",
      description: "GET /store/customers/me/orders (first page of 10)",
      request: {
        method: "GET",
        path: "/store/customers/me/orders",
        setupRequest: (request) => ({ ...request, headers: bearerHeader(randomBearer(fixtures)) }),
      },
    },
    {
      name: "order-lookup",
      server: "gateway",
      kind: "read",
      description: "GET /store/orders?display_id=&email= (a random guest order)",
      request: {
        method: "GET",
        setupRequest: (request) => {
          const order = fixtures.guestOrders[randomIndex(fixtures.guestOrders.length)]!;
          return {
            ...request,
            path: `/store/orders?display_id=${order.displayId}&email=${encodeURIComponent(order.email)}`,
          };
        },
      },
    },
    {
      name: "graphql-me-orders",
      server: "gateway",
      kind: "read",
      description: "POST /graphql { me { orders(first: 10) { edges { node { id displayId } } } } }",
      request: {
        method: "POST",
        path: "/graphql",
        setupRequest: (request) => ({
          ...request,
          headers: bearerHeaders(randomBearer(fixtures)),
          body: JSON.stringify({ query: ME_ORDERS_QUERY }),
        }),
      },
      verifyBody: (body) => String(body).includes('"edges"') && !String(body).includes('"errors"'),
    },
    ...medusaTargets,
  ];
}
