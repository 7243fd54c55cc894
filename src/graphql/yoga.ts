import { createInlineSigningKeyProvider, type ExtractTokenFunction, useJWT } from "@graphql-yoga/plugin-jwt";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { createYoga, useExtendContext } from "graphql-yoga";
import type { Logger } from "../logger";
import { bearerToken, STORE_TOKEN_ALGORITHM, viewerFromStoreToken } from "../services/auth-service";
import { createContext, type GraphQLContext, type Services } from "./context";
import { schema } from "./schema";

export const GRAPHQL_PATH = "/graphql";

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

/** GraphQL over HTTP and SSE (and, through `getEnveloped`, WebSocket), with GraphiQL for browsers. */
export function createGraphQLServer(services: Services, config: { jwtSecret: string; graphiql: boolean; introspection: boolean }, logger: Logger) {
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Off in production unless asked for (GRAPHIQL, GRAPHQL_INTROSPECTION): they map the API for anyone.
    graphiql: config.graphiql ? { title: "ordergate" } : false,
    landingPage: false,
    // CORS is the Express app's (STORE_CORS, shared with /store); Yoga's would reflect any origin.
    cors: false,
    // Unexpected errors reach clients as "Unexpected error."; expected ones are typed results.
    maskedErrors: true,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      error: (...args) => logger.error(args.map(String).join(" ")),
    },
    plugins: [
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      useJWT({
        signingKeyProviders: [createInlineSigningKeyProvider(config.jwtSecret)],
        tokenLookupLocations: [tokenFromHeader, tokenFromWebSocket],
        tokenVerification: { algorithms: [STORE_TOKEN_ALGORITHM] },
        // A missing, bad or expired token means "signed out": public operations work whatever the
        // header holds, and the ones that need a customer say so (NotAuthenticatedError, UNAUTHENTICATED).
        reject: { missingToken: false, invalidToken: false },
      }),
      // After useJWT (Yoga's `context` option would run before it, and see no JWT on WebSocket).
      useExtendContext(({ jwt }: { jwt?: { payload: unknown } }) => createContext(services, viewerFromStoreToken(jwt?.payload))),
    ],
  });
}
