import http from "node:http";

/** What one server answered during `getInTurn`. */
export interface InTurnAnswers {
  /** Each answer's time, from sending the request to its last byte, in fractional ms. */
  latenciesMs: number[];
  statusCodes: Record<string, number>;
  /** Requests that failed without an answer (connection refused or reset). */
  errors: number;
}

/** Longest a request may take before it counts as failed (autocannon's default timeout). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Failed requests in a row after which a window ends early: the server is gone, not slow. */
const FAILURES_IN_A_ROW = 5;

/** A GET of `path` over `agent`, read whole: its status and how long it took, in ms. */
function timedGet(url: string, path: string, agent: http.Agent): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}${path}`, { agent, timeout: REQUEST_TIMEOUT_MS }, (answer) => {
      answer.resume();
      answer.on("end", () => resolve({ status: answer.statusCode!, ms: performance.now() - started }));
      // Cut off mid-body: no `end` comes.
      answer.on("close", () => answer.complete || reject(new Error("the answer was cut off")));
      answer.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", reject);
  });
}

/**
 * One kept-alive connection to each server, one request at a time, to each in turn (a GET of
 * `path`), for `seconds` or until `signal` aborts. Whatever else loads the machine meanwhile
 * weighs on every server alike, so their latencies compare: two runs one after the other on a
 * shared machine differ by more than what a proxy adds.
 */
export async function getInTurn(
  urls: string[],
  path: string,
  seconds: number,
  signal?: AbortSignal,
): Promise<InTurnAnswers[]> {
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const answers = urls.map((): InTurnAnswers => ({ latenciesMs: [], statusCodes: {}, errors: 0 }));
  const until = performance.now() + seconds * 1000;
  let failuresInARow = 0;
  try {
    while (performance.now() < until && !signal?.aborted && failuresInARow < FAILURES_IN_A_ROW) {
      for (const [i, url] of urls.entries()) {
        const answered = answers[i]!;
        try {
          const { status, ms } = await timedGet(url, path, agents[i]!);
          answered.latenciesMs.push(ms);
          answered.statusCodes[status] = (answered.statusCodes[status] ?? 0) + 1;
          failuresInARow = 0;
        } catch {
          answered.errors++;
          failuresInARow++;
        }
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  return answers;
}
