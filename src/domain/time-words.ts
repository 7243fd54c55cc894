const relativeTime = new Intl.RelativeTimeFormat("en", { numeric: "always" });
const utcDateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const utcDate = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * How long until `until`, as people say it: "in 3 seconds", "in 1 minute", "in 15 minutes",
 * "in 1 hour", "in 3 hours", "in 2 days". Seconds under two minutes, minutes under two hours
 * (whole hours say hours), then hours under two days; rounded to the nearest unit.
 */
export function timeUntilInWords(until: Date, now: Date): string {
  const ms = Math.max(0, until.getTime() - now.getTime());
  if (ms < 2 * MINUTE_MS) return relativeTime.format(Math.max(1, Math.round(ms / 1000)), "second");
  const minutes = Math.round(ms / MINUTE_MS);
  if (minutes < 120)
    return minutes % 60 === 0 ? relativeTime.format(minutes / 60, "hour") : relativeTime.format(minutes, "minute");
  if (ms < 48 * HOUR_MS) return relativeTime.format(Math.round(ms / HOUR_MS), "hour");
  return relativeTime.format(Math.round(ms / (24 * HOUR_MS)), "day");
}

/**
 * How long ago `since` was, as people say it: "2 minutes ago", "5 hours ago", "3 days ago",
 * "4 months ago", "2 years ago" (rounded down: an account is not older than it is).
 */
export function timeAgoInWords(since: Date, now: Date): string {
  const ms = Math.max(0, now.getTime() - since.getTime());
  if (ms < HOUR_MS) return relativeTime.format(-Math.max(1, Math.floor(ms / MINUTE_MS)), "minute");
  if (ms < DAY_MS) return relativeTime.format(-Math.floor(ms / HOUR_MS), "hour");
  if (ms < 60 * DAY_MS) return relativeTime.format(-Math.floor(ms / DAY_MS), "day");
  if (ms < 2 * 365 * DAY_MS) return relativeTime.format(-Math.floor(ms / (30 * DAY_MS)), "month");
  return relativeTime.format(-Math.floor(ms / (365 * DAY_MS)), "year");
}

/** An instant for people who may be anywhere: "2 Dec 2026, 10:15 UTC". */
export function utcTimeInWords(at: Date): string {
  return `${utcDateTime.format(at)} UTC`;
}

/** A day, as the UTC calendar has it: "2 Dec 2026". */
export function utcDateInWords(at: Date): string {
  return utcDate.format(at);
}
