import net from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How long the answer took, from connecting. */
  elapsedMs: number;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/**
 * Writes `head` (request line and headers, without the blank line) and then `body` bytes exactly
 * as given, without completing a lying length, and reads the first response. For what `fetch`
 * refuses to send: wrong lengths, stalled bodies, broken encodings, oversized headers.
 */
export function rawRequest(
  url: string,
  head: string,
  body: Buffer | string = "",
  options: { timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const text = Buffer.concat(chunks).toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        if (closed) {
          settled = true;
          reject(new Error(`connection closed without a response (${JSON.stringify(text.slice(0, 200))})`));
        }
        return;
      }
      const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
      const headers = Object.fromEntries(
        headerLines.map((line) => [
          line.slice(0, line.indexOf(":")).toLowerCase(),
          line.slice(line.indexOf(":") + 1).trim(),
        ]),
      );
      let responseBody = text.slice(end + 4);
      const length = headers["content-length"];
      if (headers["transfer-encoding"] === "chunked") {
        if (!closed && !responseBody.endsWith("0\r\n\r\n")) return;
        responseBody = dechunk(responseBody);
      } else if (length !== undefined && Buffer.byteLength(responseBody) < Number(length) && !closed) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status: Number(statusLine!.split(" ")[1]),
        headers,
        body: responseBody,
        elapsedMs: Date.now() - started,
        closed,
      });
      // Give the server a moment to close its side, then report whether it did.
      setTimeout(() => socket.destroy(), 50);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      if (!settled) reject(new Error(`no response within ${options.timeoutMs ?? 10_000} ms`));
      settled = true;
    }, options.timeoutMs ?? 10_000);
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.write(`${head}\r\n\r\n`);
    if (body.length > 0) socket.write(body);
  });
}

function dechunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
