import { claimEmail } from "../src/notifications/claim-email";

const now = new Date("2026-12-02T10:00:00.000Z");
const base = {
  to: "ann.work@example.com",
  token: "T".repeat(43),
  confirmUrlTemplate: "https://shop.example/confirm?token={token}&src=mail",
  expiresAt: new Date(now.getTime() + 15 * 60_000),
  claimer: { email: "ann@example.com", createdAt: new Date(now.getTime() - 3 * 86_400_000 - 60_000) },
  // A storefront's page (CLAIM_CONFIRM_URL): it may not offer Decline.
  linkOffersDecline: false,
  now,
};

describe("the claim email", () => {
  it("carries the link with the token as the token= value, the token as text, and the order numbers", () => {
    const mail = claimEmail({ ...base, displayIds: [1001, 1002] });
    expect(mail.to).toBe("ann.work@example.com");
    expect(mail.subject).toBe("Someone asked to add orders #1001, #1002 to their account");
    expect(mail.text).toContain(`https://shop.example/confirm?token=${base.token}&src=mail`);
    expect(mail.text).toMatch(new RegExp(`enter this code:\\s+${base.token}`));
    expect(mail.html).toContain(`href="https://shop.example/confirm?token=${base.token}&amp;src=mail"`);
    expect(mail.text).toContain("expires in 15 minutes (2 Dec 2026, 10:15 UTC)");
    expect(mail.html).toContain("expires in 15 minutes (2 Dec 2026, 10:15 UTC)");
  });

  it("keeps the subject short for a large claim but lists every order in the body", () => {
    const displayIds = Array.from({ length: 40 }, (_, i) => 2000 + i);
    const mail = claimEmail({ ...base, displayIds });
    expect(mail.subject).toBe("Someone asked to add 40 orders to their account");
    for (const id of displayIds) expect(mail.text).toContain(`#${id}`);
  });

  it("says order, singular, for one", () => {
    expect(claimEmail({ ...base, displayIds: [7] }).subject).toBe("Someone asked to add order #7 to their account");
  });

  it("tells the expiry in words that read right, from the moment it is written", () => {
    const expiringIn = (ms: number) =>
      claimEmail({ ...base, displayIds: [1], expiresAt: new Date(now.getTime() + ms) }).text;
    expect(expiringIn(3_000)).toContain("expires in 3 seconds");
    expect(expiringIn(1_000)).toContain("expires in 1 second");
    expect(expiringIn(60_000)).toContain("expires in 60 seconds");
    expect(expiringIn(5 * 60_000 - 300)).toContain("expires in 5 minutes");
    expect(expiringIn(60 * 60_000)).toContain("expires in 1 hour");
    expect(expiringIn(90 * 60_000)).toContain("expires in 90 minutes");
    expect(expiringIn(3 * 3_600_000)).toContain("expires in 3 hours");
    expect(expiringIn(3 * 86_400_000)).toContain("expires in 3 days");
    expect(expiringIn(3_000)).not.toMatch(/\b1 minutes\b/);
  });

  it("has an HTML part with the link as a button and every value escaped", () => {
    const mail = claimEmail({
      ...base,
      displayIds: [1001],
      confirmUrlTemplate: 'https://shop.example/c?t={token}&x="<b>',
    });
    expect(mail.html).toMatch(/^<!doctype html>/);
    expect(mail.html).toContain('<html lang="en">');
    expect(mail.html).toMatch(
      /<a href="https:\/\/shop\.example\/c\?t=T{43}&amp;x=&quot;&lt;b&gt;"[^>]*>Review and confirm<\/a>/,
    );
    expect(mail.html).not.toContain('"<b>');
    expect(mail.html).toContain("<strong>#1001</strong>");
    expect(mail.text).toContain(`https://shop.example/c?t=${base.token}&x="<b>`);
  });

  it("is written to the inbox's owner: names the asking account in full with its age, and says to ignore it when that account is not theirs", () => {
    const mail = claimEmail({ ...base, displayIds: [1001] });
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain("ann@example.com");
      expect(part).toContain("(created 3 days ago)");
      expect(part).toContain("If you do not know that account, you can also ignore this email");
      expect(part).not.toMatch(/your account/);
      expect(part).not.toContain("a***@");
    }
    expect(mail.text).toContain(
      "Someone signed in to the account ann@example.com (created 3 days ago) asked to add order #1001, placed under this email address, to their account.",
    );
    expect(mail.text).not.toContain("[U+");
  });

  it("says how to decline: with the Decline button of ordergate's own confirm page", () => {
    const mail = claimEmail({
      ...base,
      displayIds: [1001],
      confirmUrlTemplate: "https://gate.example/claim/confirm?token={token}",
      linkOffersDecline: true,
    });
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(
        "Not you, or you do not want these orders moved? Open the link and choose Decline: the link then stops working.",
      );
      expect(part).not.toContain("to confirm or decline");
    }
    // After the expiry, before the advice to ignore it.
    expect(mail.text).toMatch(/\(2 Dec 2026, 10:15 UTC\)\.\n\nNot you, [^\n]+ Decline[^\n]+\nIf you do not know/);
  });

  it("says how to decline neutrally when the link leads to a storefront's page", () => {
    // base: CLAIM_CONFIRM_URL=https://shop.example/confirm?token={token}&src=mail
    const storefront = claimEmail({ ...base, displayIds: [1001] });
    // A storefront's page under the same path as ordergate's own: what counts is where the link goes.
    const lookAlikePath = claimEmail({
      ...base,
      displayIds: [1001],
      confirmUrlTemplate: "https://shop.example/claim/confirm?token={token}",
    });
    for (const mail of [storefront, lookAlikePath]) {
      for (const part of [mail.text, mail.html]) {
        expect(part).toContain("Not you, or you do not want these orders moved? Open the link to confirm or decline.");
        expect(part).not.toContain("choose Decline");
      }
    }
  });

  it("makes characters outside ASCII in the asking account's address visible, so a look-alike stands out", () => {
    // A Cyrillic а (U+0430) in place of the Latin a, and a combining accent.
    const mail = claimEmail({
      ...base,
      displayIds: [1001],
      claimer: { email: "\u0430nn@exam\u0301ple.com", createdAt: new Date(now.getTime() - 5 * 60_000) },
    });
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain("[U+0430]nn@exam[U+0301]ple.com");
      expect(part).toContain("characters outside ASCII");
      expect(part).toContain("(created 5 minutes ago)");
      expect(part).not.toContain("\u0430");
    }
  });

  it("tells the account's age in words", () => {
    const aged = (ms: number) =>
      claimEmail({ ...base, displayIds: [1], claimer: { email: "a@b.co", createdAt: new Date(now.getTime() - ms) } })
        .text;
    expect(aged(0)).toContain("(created 1 minute ago)");
    expect(aged(5 * 3_600_000)).toContain("(created 5 hours ago)");
    expect(aged(400 * 86_400_000)).toContain("(created 13 months ago)");
    expect(aged(3 * 365 * 86_400_000)).toContain("(created 3 years ago)");
  });
});
