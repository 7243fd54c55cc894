import type { Db } from "../db/database";
import type { EventPubSub } from "../events/pubsub";
import type { AuthService } from "../services/auth-service";
import type { ClaimService } from "../services/claim-service";

export interface Services {
  prisma: Db;
  pubsub: EventPubSub;
  claims: ClaimService;
  auth: AuthService;
}

/** What every resolver sees: who is asking (if anyone) and the services. */
export interface GraphQLContext extends Services {
  viewer: { customerId: string } | null;
}

export function createContext(services: Services, customerId: string | undefined): GraphQLContext {
  return { ...services, viewer: customerId ? { customerId } : null };
}
