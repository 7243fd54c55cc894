import { AsyncLocalStorage } from "node:async_hooks";
import pino, { type DestinationStream, type Logger as PinoLogger } from "pino";
import type { Config } from "../config";

export type LogFields = Record<string, unknown>;

/**
 * JSON lines (pino) on stdout, the process's output stream (twelve-factor; pino's default).
 * Messages are constant phrases; what varies goes in `fields` (ids, masked emails, counts).
 * Callers never pass secrets: tokens, passwords, full emails.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, error?: unknown, fields?: LogFields): void;
  /** The pino instance underneath, for lines with fields at a level chosen at run time (the request log). */
  readonly pino: PinoLogger;
}

const logContext = new AsyncLocalStorage<LogFields>();

/** Runs `fn` so that every line logged during it, however deep, carries `fields` (the request id). */
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  return logContext.run(fields, fn);
}

export function createLogger(
  level: Config["logLevel"],
  destination: DestinationStream = pino.destination({ fd: 1, sync: true }),
): Logger {
  const root = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A copy: pino merges each line's fields into the object the mixin returns.
      mixin: () => ({ ...logContext.getStore() }),
    },
    destination,
  );
  return {
    debug: (message, fields) => root.debug(fields ?? {}, message),
    info: (message, fields) => root.info(fields ?? {}, message),
    warn: (message, fields) => root.warn(fields ?? {}, message),
    error: (message, error, fields) =>
      root.error(
        {
          ...fields,
          ...(error === undefined ? {} : { err: error instanceof Error ? error : { message: String(error) } }),
        },
        message,
      ),
    pino: root,
  };
}
