import { claimEmail } from "../src/notifications/claim-email";

const base = { to: "ann.work@example.com", token: "T".repeat(43), confirmUrlTemplate: "https://shop.example/confirm?token={token}&src=mail", expiresInMinutes: 15 };

describe("the claim email", () => {
  it("carries the link with the token as the token= value, the token as text, and the order numbers", () => {
    const mail = claimEmail({ ...base, displayIds: [1001, 1002] });
    expect(mail.to).toBe("ann.work@example.com");
    expect(mail.subject).toBe("Confirm adding orders #1001, #1002 to your account");
    expect(mail.text).toContain(`https://shop.example/confirm?token=${base.token}&src=mail`);
    expect(mail.text).toMatch(new RegExp(`enter this code:\\s+${base.token}`));
    expect(mail.html).toContain(`href="https://shop.example/confirm?token=${base.token}&amp;src=mail"`);
    expect(mail.text).toContain("expires in 15 minutes");
  });

  it("keeps the subject short for a large claim but lists every order in the body", () => {
    const displayIds = Array.from({ length: 40 }, (_, i) => 2000 + i);
    const mail = claimEmail({ ...base, displayIds });
    expect(mail.subject).toBe("Confirm adding 40 orders to your account");
    for (const id of displayIds) expect(mail.text).toContain(`#${id}`);
  });

  it("says order, singular, for one", () => {
    expect(claimEmail({ ...base, displayIds: [7] }).subject).toBe("Confirm adding order #7 to your account");
  });
});
