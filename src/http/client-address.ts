import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";
import type { Config } from "../config";

/**
 * The client's address as Express's `req.ip` computes it under the same TRUST_PROXY, for requests
 * Express does not see (the WebSocket upgrade) and code that only has the Node request.
 */
export function clientAddressResolver(trust: Config["trustProxy"]): (req: IncomingMessage) => string {
  const trusted =
    typeof trust === "boolean"
      ? () => trust
      : typeof trust === "number"
        ? (_address: string, hop: number) => hop < trust
        : proxyAddr.compile(trust);
  return (req) => (req.socket.remoteAddress ? proxyAddr(req, trusted) : "unknown");
}
