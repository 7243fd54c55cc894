import type { ExecutionResult } from "graphql";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export type Transport = "sse" | "ws";

/** How a stream ended: the server completed it, or (WebSocket) closed the connection. */
export type StreamEnd = { kind: "complete" } | { kind: "closed"; code: number; reason: string };

/** A live subscription as a client sees it, over either transport. */
export interface SubscriptionStream {
  /** HTTP status of the SSE response (101 for a WebSocket). */
  status: number;
  /** Every raw frame the server sent (SSE chunks, WebSocket messages), for leak checks. */
  frames: string[];
  /** Keep-alives received: SSE comment lines, WebSocket pings. */
  keepAlives: number;
  /** The next result; fails if none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<ExecutionResult<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Results received and not yet taken by `next`. */
  pending(): ExecutionResult[];
  ended: Promise<StreamEnd>;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Sent as `Authorization: Bearer` (SSE) or `connectionParams.authorization` (WebSocket). */
  bearer?: string;
  /** SSE only: a `Cookie` header (ordergate's session cookie signs SSE in; WebSocket ignores cookies). */
  cookie?: string;
  /** WebSocket only: the exact `connectionParams` (overrides `bearer`). */
  connectionParams?: Record<string, unknown>;
  variables?: Record<string, unknown>;
}

/** Results in arrival order, handed to whoever waits for the next one. */
class ResultQueue {
  private readonly results: ExecutionResult[] = [];
  private readonly waiters: ((result: ExecutionResult) => void)[] = [];
  private end: StreamEnd | undefined;
  private readonly endWaiters: ((end: StreamEnd) => void)[] = [];

  push(result: ExecutionResult): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(result);
    else this.results.push(result);
  }

  finish(end: StreamEnd): void {
    if (this.end) return;
    this.end = end;
    for (const wake of this.endWaiters.splice(0)) wake(end);
  }

  readonly ended = new Promise<StreamEnd>((resolve) => this.endWaiters.push(resolve));

  pending(): ExecutionResult[] {
    return [...this.results];
  }

  next(timeoutMs: number): Promise<ExecutionResult> {
    const ready = this.results.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `no subscription result within ${timeoutMs} ms${this.end ? ` (stream ended: ${JSON.stringify(this.end)})` : ""}`,
          ),
        );
      }, timeoutMs);
      const waiter = (result: ExecutionResult) => {
        clearTimeout(timer);
        resolve(result);
      };
      this.waiters.push(waiter);
    });
  }
}

/** Opens a subscription over SSE (Yoga's, `Accept: text/event-stream`) and parses the event stream. */
export async function subscribeSse(
  baseUrl: string,
  query: string,
  options: SubscribeOptions = {},
): Promise<SubscriptionStream> {
  const queue = new ResultQueue();
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream", "content-type": "application/json" };
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  if (options.cookie) headers.cookie = options.cookie;
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables: options.variables }),
    signal: abort.signal,
  });
  const stream: SubscriptionStream = {
    status: response.status,
    frames: [],
    keepAlives: 0,
    next: (timeoutMs = 10_000) => queue.next(timeoutMs),
    pending: () => queue.pending(),
    ended: queue.ended,
    async close() {
      abort.abort();
    },
  };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        stream.frames.push(text);
        buffer += text;
        let boundary;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const lines = block.split("\n");
          if (lines.every((line) => line.startsWith(":"))) {
            stream.keepAlives++;
            continue;
          }
          const event = lines
            .find((line) => line.startsWith("event:"))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trim())
            .join("\n");
          if (event === "next") queue.push(JSON.parse(data));
          if (event === "complete") queue.finish({ kind: "complete" });
        }
      }
      queue.finish({ kind: "closed", code: 0, reason: "the response ended without an `event: complete`" });
    } catch (error) {
      queue.finish({ kind: "closed", code: 0, reason: `aborted: ${(error as Error).message}` });
    }
  })();
  return stream;
}

/** Opens a subscription with the graphql-ws client, recording every raw frame and the close code. */
export async function subscribeWs(
  baseUrl: string,
  query: string,
  options: SubscribeOptions = {},
): Promise<SubscriptionStream> {
  const queue = new ResultQueue();
  const frames: string[] = [];
  let keepAlives = 0;
  let onSocket: (socket: WebSocket) => void = () => {};
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.on("message", (data) => frames.push(String(data)));
      this.on("ping", () => keepAlives++);
      onSocket(this);
    }
  }
  const opened = new Promise<WebSocket>((resolve) => (onSocket = resolve));
  const client: Client = createClient({
    url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: RecordingWebSocket,
    connectionParams:
      options.connectionParams ?? (options.bearer ? { authorization: `Bearer ${options.bearer}` } : undefined),
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        queue.finish({ kind: "closed", code, reason: String(reason) });
      },
    },
  });
  client.subscribe(
    { query, variables: options.variables },
    {
      next: (result) => queue.push(result as ExecutionResult),
      error: () => {}, // the close event (above) says why
      complete: () => queue.finish({ kind: "complete" }),
    },
  );
  await opened;
  return {
    status: 101,
    frames,
    get keepAlives() {
      return keepAlives;
    },
    next: (timeoutMs = 10_000) => queue.next(timeoutMs),
    pending: () => queue.pending(),
    ended: queue.ended,
    async close() {
      await client.dispose();
    },
  };
}

export function subscribe(
  transport: Transport,
  baseUrl: string,
  query: string,
  options?: SubscribeOptions,
): Promise<SubscriptionStream> {
  return transport === "sse" ? subscribeSse(baseUrl, query, options) : subscribeWs(baseUrl, query, options);
}
