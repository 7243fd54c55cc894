import type http from "node:http";
import { type ExecutionArgs, type ExecutionResult, GraphQLError, type GraphQLFormattedError } from "graphql";
import { CloseCode, type Context } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { deadline } from "../domain/deadline";
import type { GraphQLContext } from "./context";
import { authorizationParam, GRAPHQL_PATH, type GraphQLServer } from "./yoga";

type SocketContext = Context<Record<string, unknown> | undefined, Extra>;
type EnvelopedArgs = ExecutionArgs & { rootValue: ReturnType<GraphQLServer["getEnveloped"]> };

/** `extensions.http` tells Yoga the HTTP status of an error; it means nothing on a WebSocket. */
function withoutHttpExtension(error: GraphQLFormattedError): GraphQLFormattedError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return { ...error, extensions };
}

/**
 * GraphQL over WebSocket (`graphql-ws`, subprotocol `graphql-transport-ws`) at `/graphql`, run
 * through Yoga's own envelop pipeline, so its plugins (JWT, masking) apply as on HTTP.
 *
 * The store JWT comes in `connectionParams.authorization` (`Bearer <jwt>` or the bare token).
 * Anything presented there that is not a valid, unexpired store JWT is refused with 4403
 * Forbidden; a connection without one may run public operations, and is closed with 4401
 * Unauthorized when it asks for one that needs a customer.
 * A connection whose JWT expires is closed with 4403 then (graphql-ws clients reconnect, with fresh
 * `connectionParams` if they compute them).
 */
export function attachGraphQLWebSocket(
  server: http.Server,
  yoga: GraphQLServer,
  options: { keepAliveMs: number; maxMessageBytes: number },
) {
  // Upgrades are routed by hand (`noServer`), so the HTTP server's own errors (a port in use) stay its own.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  server.on("upgrade", (request, socket, head) => {
    if ((request.url ?? "").split("?")[0] !== GRAPHQL_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (ws) => wsServer.emit("connection", ws, request));
  });
  /** Connections to close with 4401 once the refused operation's error has been sent. */
  const refused = new WeakSet<SocketContext>();

  const envelopedFor = (ctx: SocketContext, params: unknown) =>
    yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });

  const graphqlWs = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args),
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args),
      onConnect: async (ctx) => {
        if (authorizationParam(ctx.connectionParams) === undefined) return true;
        // The context Yoga's plugins build for this connection: the JWT verified as on HTTP.
        // Anything presented that does not verify (not a string, not a JWT, expired) is refused.
        const { viewer } = (await envelopedFor(ctx, {}).contextFactory()) as Partial<GraphQLContext>;
        if (!viewer) return false;
        const until = viewer.signedInUntil;
        if (until && ctx.extra.socket.readyState === ctx.extra.socket.OPEN) {
          const expiry = deadline(until);
          void expiry.reached.then(() =>
            ctx.extra.socket.close(CloseCode.Forbidden, "Forbidden: the sign-in has expired"),
          );
          ctx.extra.socket.once("close", expiry.cancel);
        }
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = envelopedFor(ctx, params);
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const contextValue = (await contextFactory()) as Partial<GraphQLContext>;
        // The connection itself closes when the JWT expires (4403), so its streams need not end on
        // their own: one way to end, not two racing.
        if (contextValue.viewer) contextValue.viewer = { customerId: contextValue.viewer.customerId };
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      onOperation: (ctx, _id, _params, _args, result) => {
        // graphql-ws has awaited the operation by now; its type still allows a promise.
        const settled = result as ExecutionResult | AsyncIterable<unknown>;
        if (
          !(Symbol.asyncIterator in settled) &&
          settled.errors?.some((error) => error.extensions?.code === "UNAUTHENTICATED")
        )
          refused.add(ctx);
      },
      onNext: (_ctx, _id, _params, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(withoutHttpExtension) } : undefined,
      onComplete: (ctx) => {
        if (refused.has(ctx)) ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
      },
    },
    wsServer,
    options.keepAliveMs,
  );

  return {
    /**
     * Closes every connection with 1001 Going Away and stops accepting new ones; connections
     * whose client has not answered the close within `graceMs` are cut.
     */
    async close(graceMs: number) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([graphqlWs.dispose(), graceOver]);
      clearTimeout(timer);
      for (const client of wsServer.clients) client.terminate();
    },
  };
}
