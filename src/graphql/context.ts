import type { Db } from "../db/database";
import type { EventBus } from "../events/event-bus";
import type { AuthService, SignedInCustomer } from "../services/auth-service";
import type { ClaimFeed } from "../services/claim-feed";
import type { ClaimService } from "../services/claim-service";
import type { ClaimViewService } from "../services/claim-views";
import type { CustomerService } from "../services/customer-service";
import type { OrderService } from "../services/order-service";

export interface Services {
  prisma: Db;
  events: EventBus;
  claims: ClaimService;
  claimFeed: ClaimFeed;
  claimViews: ClaimViewService;
  customers: CustomerService;
  orders: OrderService;
  auth: AuthService;
}

/** The signed-in customer, and until when their credentials hold (the JWT's `exp`, the session's end). */
export type Viewer = SignedInCustomer;

/** What every resolver sees: who is asking (if anyone), from which address, and the services. */
export interface GraphQLContext extends Services {
  viewer: Viewer | null;
  /** The client's IP address (behind TRUST_PROXY hops), for rate limits. */
  clientIp: string;
}

export function createContext(services: Services, viewer: Viewer | null, clientIp: string): GraphQLContext {
  return { ...services, viewer, clientIp };
}
