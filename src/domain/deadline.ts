/** The longest delay `setTimeout` honours (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A promise that resolves at `at` (however far away), and a way to stop waiting. */
export function deadline(at: Date): { reached: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve) => {
    const wait = () => {
      const left = at.getTime() - Date.now();
      if (left <= 0) return resolve();
      timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
    };
    wait();
  });
  return { reached, cancel: () => clearTimeout(timer) };
}
