import { type Db, Prisma } from "../db/database";
import { hasControlCharacters, isEmail, normalizeEmail } from "../domain/email";
import { EmailTakenError, InvalidInputError } from "../domain/errors";
import { newId } from "../domain/ids";
import { hashPassword } from "../domain/passwords";
import type { Selection } from "./selection";
import type { RateLimiter } from "./rate-limiter";

export interface Registration {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  phone?: string | null;
}

/** Longest name or phone accepted (PostgreSQL would take more; people do not). */
const MAX_TEXT = 200;
/** scrypt hashes whatever it gets; a bound keeps one sign-up from costing a megabyte of hashing. */
const MAX_PASSWORD = 1024;

/** Customer records as their owners and the public see them. */
export class CustomerService {
  constructor(private readonly deps: { prisma: Db; rateLimiter: RateLimiter }) {}

  /** The signed-in customer's own record (not deleted), or null. */
  findSelf<S extends Selection>(customerId: string, selection: S = {} as S) {
    return this.deps.prisma.customer.findFirst({ ...selection, where: { id: customerId, deleted_at: null } });
  }

  /**
   * Registers a customer with an account. An existing guest record with the same email (orders
   * placed without an account) stays separate, as in Medusa: its orders are claimed, not inherited.
   * Sign-ups count against the limit per client address (each one costs a password hash).
   */
  async register(registration: Registration, clientIp: string) {
    await this.deps.rateLimiter.take("registerPerIp", clientIp);
    const email = normalizeEmail(registration.email);
    if (!isEmail(email)) throw new InvalidInputError("email", "must be an email");
    if (registration.password.length === 0) throw new InvalidInputError("password", "should not be empty");
    if (registration.password.length > MAX_PASSWORD)
      throw new InvalidInputError("password", `must be at most ${MAX_PASSWORD} characters`);
    const text = (field: string, value: string | null | undefined, required: boolean) => {
      const trimmed = value?.trim() ?? "";
      if (required && trimmed === "") throw new InvalidInputError(field, "should not be empty");
      if (trimmed.length > MAX_TEXT) throw new InvalidInputError(field, `must be at most ${MAX_TEXT} characters`);
      if (hasControlCharacters(trimmed)) throw new InvalidInputError(field, "must not contain control characters");
      return trimmed === "" ? null : trimmed;
    };
    const firstName = text("firstName", registration.firstName, true);
    const lastName = text("lastName", registration.lastName, true);
    const phone = text("phone", registration.phone, false);

    const { prisma } = this.deps;
    if (
      await prisma.customer.findFirst({ where: { email, has_account: true, deleted_at: null }, select: { id: true } })
    )
      throw new EmailTakenError();
    const passwordHash = await hashPassword(registration.password);
    try {
      return await prisma.customer.create({
        data: {
          id: newId("cus"),
          email,
          first_name: firstName,
          last_name: lastName,
          phone,
          password_hash: passwordHash,
          has_account: true,
        },
      });
    } catch (error) {
      // Two sign-ups with one email at once: the unique (email, has_account) index lets one through.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") throw new EmailTakenError();
      throw error;
    }
  }

  /**
   * Whether a registered customer (not a guest record) has this email: Medusa's `GET /store/auth/:email`.
   * Counted with the sign-in attempts per client address: it tells who has an account.
   */
  async accountExists(email: string, clientIp: string): Promise<boolean> {
    await this.deps.rateLimiter.take("loginPerIp", clientIp);
    const normalized = normalizeEmail(email);
    if (!isEmail(normalized)) return false;
    const customer = await this.deps.prisma.customer.findFirst({
      where: { email: normalized, has_account: true, deleted_at: null },
      select: { id: true },
    });
    return customer !== null;
  }
}
