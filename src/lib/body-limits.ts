import type { IncomingMessage } from "node:http";
import type { RequestHandler, Response } from "express";

/**
 * Refuses a request whose `Content-Length` is over `limitBytes` at once, without reading any of
 * the body (body-parser would read it all, or wait for it, before answering), and closes the
 * connection afterwards so the unread body goes with it. Bodies sent without a length are cut
 * off by the parsers at the same limit (or, forwarded to Medusa, by `watchStreamedBody`), and
 * slow ones by the server's request timeout.
 */
export function refuseDeclaredOversize(limitBytes: number, answer: (res: Response) => void): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers["content-length"]);
    if (!(declared > limitBytes)) return next();
    res.set("Connection", "close");
    answer(res);
  };
}

/**
 * Counts a body's bytes while it streams to whoever reads it next (a pipe set up after this call)
 * and calls `overLimit` once, when the count passes `limitBytes`: before that chunk reaches the
 * reader, since this listener is first in line. For bodies passed on rather than parsed (a
 * chunked body has no length to refuse up front). `overLimit` decides what becomes of the stream.
 */
export function watchStreamedBody(req: IncomingMessage, limitBytes: number, overLimit: () => void): void {
  let received = 0;
  // Paused, the listener does not start the flow on its own: no chunk may pass before the reader
  // is piped (piping resumes the stream).
  req.pause();
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limitBytes) return;
    req.off("data", count);
    overLimit();
  };
  req.on("data", count);
}
