/** The form emails are compared and grouped in: trimmed, lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** `jane@example.com` -> `j***@example.com`: enough to recognise, not enough to harvest. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${Array.from(email)[0]}***${email.slice(at)}`;
}

/** Every address in `text` masked: a mail server's refusal quotes the recipient (`550 <ann@example.com>: ...`). */
export function maskEmailsIn(text: string): string {
  return text.replace(/[^\s<>@"'(),;:]+@[^\s<>@"'(),;:]+/g, maskEmail);
}

/** A pragmatic check (one @, no spaces or control characters, a dot in the domain). */
export function isEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u.test(value);
}

/** PostgreSQL text cannot hold NUL; other control characters never belong in ids or emails either. */
export function hasControlCharacters(value: string): boolean {
  return /\p{Cc}/u.test(value);
}
