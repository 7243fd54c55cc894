import type { Config } from "./config";

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

/** Plain line logger on stderr. Callers never pass secrets (tokens, passwords) into messages. */
export function createLogger(level: Config["logLevel"]): Logger {
  const threshold = LEVELS[level];
  const write = (name: keyof typeof LEVELS, message: string) => {
    if (LEVELS[name] >= threshold) process.stderr.write(`${new Date().toISOString()} ${name.padEnd(5)} ${message}\n`);
  };
  return {
    debug: (message) => write("debug", message),
    info: (message) => write("info", message),
    warn: (message) => write("warn", message),
    error: (message, error) =>
      write("error", error === undefined ? message : `${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  };
}
