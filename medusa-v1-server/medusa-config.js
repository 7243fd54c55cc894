// Medusa v1 (1.20.x) as ordergate's gateway tests run it: PostgreSQL from DATABASE_URL, the JWT
// secret shared with ordergate (JWT_SECRET), no Redis (Medusa then keeps sessions in an in-memory
// fake), the local event bus and the in-memory cache.
const required = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set for the Medusa v1 test server`);
  return value;
};

module.exports = {
  projectConfig: {
    database_url: required("DATABASE_URL"),
    database_type: "postgres",
    database_logging: false,
    jwt_secret: required("JWT_SECRET"),
    cookie_secret: required("COOKIE_SECRET"),
    store_cors: process.env.STORE_CORS || "http://localhost:8000",
    admin_cors: process.env.ADMIN_CORS || "http://localhost:7001",
  },
  plugins: ["medusa-fulfillment-manual", "medusa-payment-manual"],
  modules: {
    eventBus: { resolve: "@medusajs/event-bus-local" },
    cacheService: { resolve: "@medusajs/cache-inmemory", options: { ttl: 30 } },
  },
  // Product categories (off by default in 1.20) so that the storefront tests can filter by category.
  featureFlags: { product_categories: true },
};
