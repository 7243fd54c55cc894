import type { IncomingMessage } from "node:http";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from "graphql";
import {
  createGraphQLError,
  createYoga,
  type GraphQLParams,
  handleStreamOrSingleExecutionResult,
  type Plugin,
  useExtendContext,
} from "graphql-yoga";
import { sessionTokenFromCookies } from "../lib/session-cookie";
import type { Logger } from "../lib/logger";
import { bearerToken } from "../services/auth-service";
import type { Services } from "../services";
import { createContext, type GraphQLContext, type Viewer } from "./context";
import { clientFacingError, useClientFacingErrors } from "./expected-failures";
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
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => context?.reportError(operationLimitError(error)),
  ],
};

/** An Armor plugin's refusal with a stable code, without the "Syntax Error: " its message starts with. */
const operationLimitError = (error: GraphQLError) =>
  new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: "OPERATION_LIMIT_EXCEEDED" } });

/** The header a browser must send on requests it would not preflight (Yoga's CSRF prevention). */
export const CSRF_HEADER = "x-graphql-yoga-csrf";

/**
 * A request the Store API (`/store`) runs through this same pipeline: the caller was identified by
 * the Store API's own means (a session cookie or a bearer JWT), so no token is looked up here.
 */
export interface RestCaller {
  customerId: string | undefined;
}

/** What the HTTP server, the WebSocket server or the Store API routes hand Yoga with each request. */
export interface GraphQLServerContext {
  /** The HTTP request (the upgrade request on WebSocket). */
  req?: IncomingMessage;
  restCaller?: RestCaller;
  /** Set on WebSocket connections (the graphql-ws socket), with what the client sent on connecting. */
  socket?: unknown;
  connectionParams?: unknown;
}

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

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** graphql-js's hint at a field, argument, type or enum value of a similar name, which ends a message. */
const SUGGESTION = /\s*Did you mean [^]*\?$/;

function withoutSuggestion(error: Error): Error {
  if (!(error instanceof GraphQLError) || !SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ""), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

const suggestionsRemoved = ({
  result,
  setResult,
}: {
  result: { errors?: readonly GraphQLError[] };
  setResult: (result: never) => void;
}) => {
  if (result.errors?.some((error) => SUGGESTION.test(error.message)))
    setResult({ ...result, errors: result.errors.map(withoutSuggestion) } as never);
};

/**
 * With introspection off, the schema stays unpublished on every transport: introspection fields
 * are refused in validation, which HTTP, SSE and WebSocket all run (Yoga's useDisableIntrospection
 * marks HTTP requests only, so WebSocket answered `__schema`), and no error says "Did you mean
 * ...?", from which the schema could be rebuilt name by name (validation errors, and the variable
 * errors that execution reports).
 */
export function useUnpublishedSchema(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ result, setResult }) => {
        if (result.some((error) => SUGGESTION.test(error.message))) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute: () => ({ onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, suggestionsRemoved) }),
    onSubscribe: () => ({
      onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload as never, suggestionsRemoved),
    }),
  };
}

/**
 * `variables` or `extensions` of a GET (or form) request, parsed; malformed JSON is the client's
 * 400, naming the parameter.
 */
function jsonParameter(search: URLSearchParams, name: "variables" | "extensions"): unknown {
  const text = search.get(name);
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw createGraphQLError(`The ${name} parameter is not valid JSON.`, {
      extensions: { code: "BAD_REQUEST", http: { status: 400 } },
    });
  }
}

/**
 * Yoga's GET and form parsers JSON.parse `variables` and `extensions` unguarded, so malformed JSON
 * would be an unexpected error (500, logged with its stack). These parse the same parameters, and
 * answer malformed JSON with a 400 naming the parameter.
 */
function useParameterErrors(): Plugin {
  const paramsOf = (search: URLSearchParams): GraphQLParams => ({
    operationName: search.get("operationName") || undefined,
    query: search.get("query") || undefined,
    variables: jsonParameter(search, "variables") as GraphQLParams["variables"],
    extensions: jsonParameter(search, "extensions") as GraphQLParams["extensions"],
  });
  return {
    onRequestParse: ({ request, requestParser, setRequestParser }) => {
      // Only where Yoga chose its own URL-parameter parser.
      if (!requestParser) return;
      if (request.method === "GET") setRequestParser((get) => paramsOf(new URL(get.url).searchParams));
      else if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers.get("content-type") ?? ""))
        setRequestParser(async (post) => paramsOf(new URLSearchParams(await post.text())));
    },
  };
}

const describeLogArgs = (args: unknown[]) =>
  args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" ");

/** GraphQL over HTTP and SSE (and, through `getEnveloped`, WebSocket), with GraphiQL for browsers. */
export function createGraphQLServer(
  services: Services,
  config: {
    graphiql: boolean;
    introspection: boolean;
    clientAddress: (req: IncomingMessage) => string;
    onOperation: (operation: OperationRecord) => void;
  },
  logger: Logger,
) {
  /**
   * Who is asking. A missing, bad or expired JWT means "signed out": public operations work
   * whatever the header holds, and those that need a customer say so (NotAuthenticatedError).
   */
  const viewerOf = async (context: GraphQLServerContext): Promise<Viewer | null> => {
    if (context.restCaller) return context.restCaller.customerId ? { customerId: context.restCaller.customerId } : null;
    if (context.socket)
      return services.auth.identify({
        sessionToken: undefined,
        storeJwt: tokenFromConnectionParams(context.connectionParams),
      });
    const storeJwt = bearerToken(context.req?.headers.authorization ?? "");
    // Over HTTP and SSE, a browser's session cookie (POST /store/auth, the /claim page) signs it
    // in too, first as on /store. Cross-site requests cannot ride on it: CSRF prevention refuses
    // any request a browser would send without a preflight, and CORS answers preflights only for
    // STORE_CORS origins. Not on WebSocket, which has neither protection (its JWT is still checked
    // against the customers, as everywhere).
    return services.auth.identify({ sessionToken: sessionTokenFromCookies(context.req?.headers.cookie), storeJwt });
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
    // before Yoga sees it, and the Store API routes' bodies are ours: Yoga's own limit would only
    // re-stream each body through a size-counting TransformStream.
    maxRequestBodySize: false,
    logging: {
      debug: (...args) => logger.debug(describeLogArgs(args)),
      info: (...args) => logger.info(describeLogArgs(args)),
      // A bad or expired token is the client's business (it is signed out), not a warning here.
      warn: (...args) => logger.warn(describeLogArgs(args)),
      // Yoga logs each error it masks (unexpected ones) here.
      error: (...args) =>
        logger.error("unexpected error in GraphQL", args.find((arg) => arg instanceof Error) ?? describeLogArgs(args)),
    },
    plugins: [
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      useParameterErrors(),
      ...(config.introspection ? [] : [useUnpublishedSchema()]),
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
      // `__typename` is no exception: a query of hundreds of thousands of its aliases is a known attack.
      maxAliasesPlugin({ n: OPERATION_LIMITS.aliases, allowList: [], ...refusedAsValidationError }),
      maxDirectivesPlugin({ n: OPERATION_LIMITS.directives, ...refusedAsValidationError }),
      costLimitPlugin({ maxCost: OPERATION_LIMITS.cost, flattenFragments: true, ...refusedAsValidationError }),
      useExtendContext(async (context: GraphQLServerContext) => {
        // Who is asking is read from the database (the session, the customer): with the database
        // down that is a 503 like any resolver's, not a context failure's masked 500.
        const viewer = await viewerOf(context).catch((error: unknown) => {
          const clientFacing = clientFacingError(error);
          if (!clientFacing) throw error;
          logger.warn("the database is unavailable", { reason: (error as Error).message });
          throw clientFacing;
        });
        return createContext(services, viewer, context.req ? config.clientAddress(context.req) : "unknown");
      }),
      useClientFacingErrors(logger),
      useOperationMetrics(config.onOperation),
    ],
  });
}
