import { createInlineSigningKeyProvider, extractFromHeader, useJWT } from "@graphql-yoga/plugin-jwt";
import { createYoga } from "graphql-yoga";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { customerIdFromStoreToken, STORE_TOKEN_ALGORITHM } from "../services/auth-service";
import { createContext, type Services } from "./context";
import { schema } from "./schema";

export const GRAPHQL_PATH = "/graphql";

/** GraphQL over HTTP (and SSE subscriptions), with GraphiQL for browsers. */
export function createGraphQLServer(services: Services, config: Pick<Config, "jwtSecret">, logger: Logger) {
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: { title: "ordergate" },
    landingPage: false,
    // Unexpected errors reach clients as "Unexpected error."; expected ones are typed results.
    maskedErrors: true,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      error: (...args) => logger.error(args.map(String).join(" ")),
    },
    plugins: [
      useJWT({
        signingKeyProviders: [createInlineSigningKeyProvider(config.jwtSecret)],
        tokenLookupLocations: [extractFromHeader({ name: "authorization", prefix: "Bearer" })],
        tokenVerification: { algorithms: [STORE_TOKEN_ALGORITHM] },
        // Anonymous requests are fine (verifyOrderClaim, orderLookup); a bad token is refused.
        reject: { missingToken: false, invalidToken: true },
      }),
    ],
    context: ({ jwt }: { jwt?: { payload: unknown } }) => createContext(services, customerIdFromStoreToken(jwt?.payload)),
  });
}
