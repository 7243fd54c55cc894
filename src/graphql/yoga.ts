import type { KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { type ExtractTokenFunction, useJWT } from "@graphql-yoga/plugin-jwt";
import { GraphQLError, type ValidationContext } from "graphql";
import { createYoga, useExtendContext } from "graphql-yoga";
import type { Logger } from "../logger";
import { bearerToken, STORE_TOKEN_ALGORITHM, viewerFromStoreToken } from "../services/auth-service";
import { createContext, type GraphQLContext, type Services, type Viewer } from "./context";
import { useClientFacingErrors } from "./expected-failures";
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from "./graphiql";
import { type OperationRecord, useOperationMetrics } from "./operation-metrics";
import { schema } from "./schema";

export const GRAPHQL_PATH = "/graphql";

/**
 * What an operation may ask for (README "Limits"). The deepest query the schema needs
 * (`me { orderClaims { edges { node { orders { items { id } } } } } }`) is 7 levels deep.
 */
export const OPERATION_LIMITS = { depth: 10, aliases: 15, tokens: 1000, directives: 50, cost: 5000 } as const;

/**
 * An operation over a limit fails validation like any invalid operation (HTTP 400 for
 * `application/graphql-response+json`), with a message naming the limit and a stable code,
 * instead of the Armor plugins' default of throwing out of validation (answered 200).
 */
const refusedAsValidationError = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(operationLimitError(error))],
};

/** An Armor plugin's refusal with a stable code, without the "Syntax Error: " its message starts with. */
const operationLimitError = (error: GraphQLError) =>
  new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: "OPERATION_LIMIT_EXCEEDED" } });

/** The header a browser must send on requests it would not preflight (Yoga's CSRF prevention). */
export const CSRF_HEADER = "x-graphql-yoga-csrf";

/**
 * A request the REST door (`/store`) runs through this same pipeline: the caller was identified by
 * the Store API's own means (a session cookie or a bearer JWT), so no token is looked up here.
 */
export interface RestCaller {
  customerId: string | undefined;
}

/** What the HTTP server, the WebSocket server or the REST door hands Yoga with each request. */
export interface GraphQLServerContext {
  /** The HTTP request (the upgrade request on WebSocket). */
  req?: IncomingMessage;
  restCaller?: RestCaller;
  /** Set on WebSocket connections (the graphql-ws socket). */
  socket?: unknown;
}

/** `Authorization: Bearer <jwt>` on HTTP (and SSE) requests. */
const tokenFromHeader: ExtractTokenFunction = ({ request }) => {
  const token = bearerToken(request?.headers.get("authorization") ?? "");
  return token ? { token, prefix: "Bearer" } : undefined;
};

/** What a WebSocket client sent as `connectionParams.authorization` (or `Authorization`), if anything. */
export function authorizationParam(connectionParams: unknown): unknown {
  if (typeof connectionParams !== "object" || connectionParams === null) return undefined;
  const params = connectionParams as Record<string, unknown>;
  const value = params.authorization ?? params.Authorization;
  return value === "" || value === null ? undefined : value;
}

/** The JWT a WebSocket client sent in `connectionParams.authorization` (`Bearer <jwt>` or bare). */
function tokenFromConnectionParams(connectionParams: unknown): string | undefined {
  const value = authorizationParam(connectionParams);
  return typeof value === "string" ? bearerToken(value, { allowBare: true }) : undefined;
}

const tokenFromWebSocket: ExtractTokenFunction = ({ serverContext }) => {
  const token = tokenFromConnectionParams(serverContext?.connectionParams);
  return token ? { token } : undefined;
};

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** What plugin-jwt warns about when a client sends a token that does not verify. */
const CLIENT_TOKEN_PROBLEM = /^Failed to (verify|decode) (authentication|JWT authentication) token|^Failed to extract payload from incoming token/;

const describeLogArgs = (args: unknown[]) => args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" ");

/** GraphQL over HTTP and SSE (and, through `getEnveloped`, WebSocket), with GraphiQL for browsers. */
export function createGraphQLServer(
  services: Services,
  config: {
    jwtKey: KeyObject;
    graphiql: boolean;
    introspection: boolean;
    clientAddress: (req: IncomingMessage) => string;
    onOperation: (operation: OperationRecord) => void;
  },
  logger: Logger,
) {
  const viewerOf = async (context: GraphQLServerContext & { jwt?: { payload: unknown } }): Promise<Viewer | null> => {
    if (context.restCaller) return context.restCaller.customerId ? { customerId: context.restCaller.customerId } : null;
    const bearer = () => viewerFromStoreToken(context.jwt?.payload);
    // Over HTTP and SSE, a browser's session cookie (POST /store/auth, the /claim page) signs it
    // in too, first as on /store. Cross-site requests cannot ride on it: CSRF prevention refuses
    // any request a browser would send without a preflight, and CORS answers preflights only for
    // STORE_CORS origins. Not on WebSocket, which has neither protection (its JWT is still checked
    // against the customers, as everywhere).
    if (context.socket || !context.req) return services.auth.identify({ cookieHeader: undefined, bearer });
    return services.auth.identify({ cookieHeader: context.req.headers.cookie, bearer });
  };
  return createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Off in production unless asked for (GRAPHIQL, GRAPHQL_INTROSPECTION): they map the API for anyone.
    graphiql: config.graphiql ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    // CORS is the Express app's (STORE_CORS, shared with /store); Yoga's would reflect any origin.
    cors: false,
    // Unexpected errors reach clients as "Unexpected error."; expected ones are typed results.
    maskedErrors: true,
    // No uploads here: multipart bodies are refused rather than parsed.
    multipart: false,
    // The Express app reads every /graphql body under its own cap (GRAPHQL_BODY_LIMIT_BYTES)
    // before Yoga sees it, and the REST door's bodies are ours: Yoga's own limit only re-streamed
    // each body through a size-counting TransformStream.
    maxRequestBodySize: false,
    logging: {
      debug: (...args) => logger.debug(describeLogArgs(args)),
      info: (...args) => logger.info(describeLogArgs(args)),
      // A bad or expired token is the client's business (it is signed out), not a warning here.
      warn: (...args) => (CLIENT_TOKEN_PROBLEM.test(String(args[0])) ? logger.debug : logger.warn)(describeLogArgs(args)),
      // Yoga logs each error it masks (unexpected ones) here.
      error: (...args) => logger.error("unexpected error in GraphQL", args.find((arg) => arg instanceof Error) ?? describeLogArgs(args)),
    },
    plugins: [
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      // Counted while parsing: a huge document is refused before it is parsed whole.
      maxTokensPlugin({
        n: OPERATION_LIMITS.tokens,
        exposeLimits: true,
        onReject: [
          (_context, error) => {
            throw operationLimitError(error);
          },
        ],
      }),
      // Fragments (every mutation result is a union) add no depth of their own.
      maxDepthPlugin({ n: OPERATION_LIMITS.depth, flattenFragments: true, ...refusedAsValidationError }),
      // `__typename` is no exception: 300,000 aliases of it were the reported attack.
      maxAliasesPlugin({ n: OPERATION_LIMITS.aliases, allowList: [], ...refusedAsValidationError }),
      maxDirectivesPlugin({ n: OPERATION_LIMITS.directives, ...refusedAsValidationError }),
      costLimitPlugin({ maxCost: OPERATION_LIMITS.cost, flattenFragments: true, ...refusedAsValidationError }),
      useJWT({
        // The key object itself (typed as a string by the plugin, passed through to jsonwebtoken).
        signingKeyProviders: [() => config.jwtKey as unknown as string],
        tokenLookupLocations: [tokenFromHeader, tokenFromWebSocket],
        tokenVerification: { algorithms: [STORE_TOKEN_ALGORITHM] },
        // A missing, bad or expired token means "signed out": public operations work whatever the
        // header holds, and the ones that need a customer say so (NotAuthenticatedError, UNAUTHENTICATED).
        reject: { missingToken: false, invalidToken: false },
      }),
      // After useJWT (Yoga's `context` option would run before it, and see no JWT on WebSocket).
      useExtendContext(async (context: GraphQLServerContext & { jwt?: { payload: unknown } }) =>
        createContext(services, await viewerOf(context), context.req ? config.clientAddress(context.req) : "unknown"),
      ),
      useClientFacingErrors(logger),
      useOperationMetrics(config.onOperation),
    ],
  });
}
