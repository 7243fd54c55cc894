/**
 * The one form emails are compared and grouped in, everywhere (design.md §3): trimmed (any
 * Unicode white space, tabs included) and lower-cased by Unicode's rules, not only ASCII. SQL
 * never compares emails by case mapping of its own (PostgreSQL's lower() follows the database's
 * locale); it compares stored text for equality, or the gateway compares this form.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The printable ASCII characters of a normalised address, in order: what `emailSearchKeySql`
 * computes in SQL from a stored address, locale-independently, so SQL can narrow a search for an
 * address to candidates that the gateway then compares in the one normalised form. Sound because
 * lower-casing maps ASCII letters to ASCII, other printable ASCII to itself, and only two
 * characters outside ASCII to ASCII (U+0130 to "i" and a combining dot, U+212A to "k"); a test
 * checks that over every code point.
 */
export function emailSearchKey(normalizedEmail: string): string {
  return normalizedEmail.replace(/[^\x21-\x7e]/g, "");
}

/** The stored-address side of emailSearchKey, for a column name: ASCII lower-casing by translate, no locale. */
export const EMAIL_SEARCH_KEY_SQL = {
  from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u0130\u212A",
  to: "abcdefghijklmnopqrstuvwxyzik",
  dropPattern: "[^!-~]",
} as const;

/**
 * An address with every character outside printable ASCII written as its code point
 * (`аnn@example.com` with a Cyrillic а -> `[U+0430]nn@example.com`), so a look-alike of another
 * address stands out where people decide whom to trust.
 */
export function emailWithVisibleCodePoints(email: string): { text: string; hasNonAscii: boolean } {
  let hasNonAscii = false;
  const text = Array.from(email, (char) => {
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e) return char;
    hasNonAscii = true;
    return `[U+${code.toString(16).toUpperCase().padStart(4, "0")}]`;
  }).join("");
  return { text, hasNonAscii };
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

/**
 * A pragmatic check (one @, no spaces or control characters, a dot in the domain). A lone
 * surrogate (`"\ud800"` in JSON) is refused too: it is no character, no mailbox can have it, and
 * PostgreSQL refuses it in JSON parameters.
 */
export function isEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@\p{Cc}\p{Cs}]+@[^\s@\p{Cc}\p{Cs}]+\.[^\s@\p{Cc}\p{Cs}]+$/u.test(value);
}

/** PostgreSQL text cannot hold NUL; other control characters never belong in ids or emails either. */
export function hasControlCharacters(value: string): boolean {
  return /\p{Cc}/u.test(value);
}
