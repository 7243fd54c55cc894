import type { SignedInCustomer } from "../services/auth-service";
import type { Services } from "../services";
import type { StorefrontSession } from "../services/storefront";

/** The signed-in customer, and until when their credentials hold (the JWT's `exp`, the session's end). */
export type Viewer = SignedInCustomer;

/** What every resolver sees: who is asking (if anyone), from which address, and the services. */
export interface GraphQLContext extends Services {
  viewer: Viewer | null;
  /** The client's IP address (behind TRUST_PROXY hops), for rate limits. */
  clientIp: string;
  /** This request's calls to the store (Medusa): batched and de-duplicated within the request. */
  store: StorefrontSession;
}

export function createContext(services: Services, viewer: Viewer | null, clientIp: string): GraphQLContext {
  return { ...services, viewer, clientIp, store: services.storefront.session(viewer?.customerId) };
}
