import type { Db } from "../db/database";
import type { EventBus } from "../events/event-bus";
import type { AuthService } from "./auth-service";
import type { ClaimFeed } from "./claim-feed";
import type { ClaimService } from "./claim-service";
import type { ClaimViewService } from "./claim-views";
import type { CustomerService } from "./customer-service";
import type { OrderService } from "./order-service";
import type { StorefrontService } from "./storefront";

/** Every service the transports (GraphQL, REST, pages) call, built once by the composition root. */
export interface Services {
  prisma: Db;
  events: EventBus;
  claims: ClaimService;
  claimFeed: ClaimFeed;
  claimViews: ClaimViewService;
  customers: CustomerService;
  orders: OrderService;
  auth: AuthService;
  storefront: StorefrontService;
}
