import type { RequestHandler, Response } from "express";

/**
 * Refuses a request whose `Content-Length` is over `limitBytes` at once, without reading any of
 * the body (body-parser would read it all, or wait for it, before answering), and closes the
 * connection afterwards so the unread body goes with it. Bodies sent without a length are cut
 * off by the parsers at the same limit, and slow ones by the server's request timeout.
 */
export function refuseDeclaredOversize(limitBytes: number, answer: (res: Response) => void): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers["content-length"]);
    if (!(declared > limitBytes)) return next();
    res.set("Connection", "close");
    answer(res);
  };
}
