const relativeTime = new Intl.RelativeTimeFormat("en", { numeric: "always" });
const utcDateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const utcDate = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * How long until `until`, as people say it: "in 3 seconds", "in 1 minute", "in 15 minutes",
 * "in 1 hour", "in 3 hours", "in 2 days". Seconds under two minutes, minutes under two hours
 * (whole hours say hours), then hours under two days; rounded to the nearest unit.
 */
export function timeUntilInWords(until: Date, now: Date): string {
  const ms = Math.max(0, until.getTime() - now.getTime());
  if (ms < 2 * MINUTE_MS) return relativeTime.format(Math.max(1, Math.round(ms / 1000)), "second");
  const minutes = Math.round(ms / MINUTE_MS);
  if (minutes < 120) return minutes % 60 === 0 ? relativeTime.format(minutes / 60, "hour") : relativeTime.format(minutes, "minute");
  if (ms < 48 * HOUR_MS) return relativeTime.format(Math.round(ms / HOUR_MS), "hour");
  return relativeTime.format(Math.round(ms / (24 * HOUR_MS)), "day");
}

/** An instant for people who may be anywhere: "2 Dec 2026, 10:15 UTC". */
export function utcTimeInWords(at: Date): string {
  return `${utcDateTime.format(at)} UTC`;
}

/** A day, as the UTC calendar has it: "2 Dec 2026". */
export function utcDateInWords(at: Date): string {
  return utcDate.format(at);
}
