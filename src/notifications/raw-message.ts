import crypto from "node:crypto";
import MailComposer from "nodemailer/lib/mail-composer";

/** What a raw message is written from: the envelope's recipient, the headers that vary, and both parts. */
export interface RawMessageContent {
  to: string;
  subject: string;
  messageId: string;
  text: string;
  html: string;
}

/** Printable ASCII only: such a header value needs no encoding (and holds no CR or LF to inject another). */
const PLAIN_HEADER_VALUE = /^[\x20-\x7e]*$/;
const BASE64_LINE = 76;
/** The parts are base64, whose alphabet has no `-`: a boundary made of dashes and hex never occurs inside them. */
const BOUNDARY = `--_ordergate_${crypto.randomBytes(8).toString("hex")}`;

/**
 * Writes a two-part message (plain text and HTML) from a template prepared once per sender: the
 * From line is nodemailer's own encoding of MAIL_FROM, made once; what varies per message is
 * written into fixed MIME text, with the parts in base64. A recipient or subject that is not plain
 * ASCII goes through nodemailer's MailComposer instead, which encodes them (RFC 2047, SMTPUTF8
 * addresses). nodemailer's composer costs a few hundred microseconds of CPU per message: the most
 * of a claim email's own work.
 */
export function rawMessageWriter(from: string): (message: RawMessageContent) => Promise<Buffer> {
  const fromHeader = headerLine(new MailComposer({ from }).compile().buildHeaders(), "From");
  return async (message) => {
    if (!PLAIN_HEADER_VALUE.test(message.to) || !PLAIN_HEADER_VALUE.test(message.subject))
      return new MailComposer({ from, ...message }).compile().build();
    return Buffer.from(
      `${fromHeader}\r\nTo: ${message.to}\r\nSubject: ${message.subject}\r\nMessage-ID: ${message.messageId}\r\n` +
        `Date: ${new Date().toUTCString().replace("GMT", "+0000")}\r\nMIME-Version: 1.0\r\n` +
        `Content-Type: multipart/alternative; boundary="${BOUNDARY}"\r\n\r\n` +
        `--${BOUNDARY}\r\n${part("text/plain", message.text)}` +
        `--${BOUNDARY}\r\n${part("text/html", message.html)}` +
        `--${BOUNDARY}--\r\n`,
    );
  };
}

function part(type: string, content: string): string {
  const encoded = Buffer.from(content).toString("base64");
  let lines = "";
  for (let at = 0; at < encoded.length; at += BASE64_LINE) lines += `${encoded.slice(at, at + BASE64_LINE)}\r\n`;
  return `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines}`;
}

/** A header, folded lines included, out of a header block. */
function headerLine(headers: string, name: string): string {
  const lines = headers.split("\r\n");
  const start = lines.findIndex((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (start < 0) throw new Error(`no ${name} header in ${JSON.stringify(headers)}`);
  let end = start + 1;
  while (end < lines.length && /^[ \t]/.test(lines[end]!)) end++;
  return lines.slice(start, end).join("\r\n");
}
