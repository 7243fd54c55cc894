/**
 * The parts of Medusa v1's Store API answers (1.20.11) that ordergate reads. Amounts are integers in
 * the currency's minor unit, as Medusa sends them.
 */

export interface MedusaCountry {
  iso_2: string;
  display_name: string;
}

export interface MedusaRegion {
  id: string;
  name: string;
  currency_code: string;
  countries: MedusaCountry[];
}

export interface MedusaVariant {
  id: string;
  title: string;
  sku: string | null;
  inventory_quantity: number;
  /** Set when the variant was read for a region (`region_id`) with its prices. */
  calculated_price?: number | null;
}

export interface MedusaProductOption {
  id: string;
  title: string;
  values?: { value: string; variant_id: string }[];
}

export interface MedusaCollection {
  id: string;
  title: string;
  handle: string | null;
}

export interface MedusaProduct {
  id: string;
  title?: string;
  handle?: string | null;
  description?: string | null;
  thumbnail?: string | null;
  collection_id?: string | null;
  variants?: MedusaVariant[];
  options?: MedusaProductOption[];
  images?: { id: string; url: string }[];
  collection?: MedusaCollection | null;
}

/** A page of a Medusa list. */
export interface MedusaPage {
  count: number;
  offset: number;
  limit: number;
}

export interface MedusaAddress {
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  address_1: string | null;
  address_2: string | null;
  city: string | null;
  province: string | null;
  postal_code: string | null;
  country_code: string | null;
  phone: string | null;
}

export interface MedusaLineItem {
  id: string;
  /** ISO 8601. */
  created_at: string;
  title: string;
  description: string | null;
  thumbnail: string | null;
  quantity: number;
  unit_price: number;
  subtotal?: number;
  total?: number;
  variant_id: string | null;
  variant: MedusaVariant | null;
}

export interface MedusaShippingOption {
  id: string;
  name: string;
  amount: number | null;
}

export interface MedusaShippingMethod {
  id: string;
  shipping_option_id: string;
  price: number;
  shipping_option?: { name: string } | null;
}

export interface MedusaPaymentSession {
  id: string;
  provider_id: string;
  status: string;
  is_selected: boolean | null;
}

export interface MedusaCart {
  id: string;
  email: string | null;
  customer_id: string | null;
  region_id: string;
  region: MedusaRegion;
  items: MedusaLineItem[];
  subtotal: number;
  tax_total: number;
  shipping_total: number;
  discount_total: number;
  total: number;
  shipping_address: MedusaAddress | null;
  billing_address: MedusaAddress | null;
  shipping_methods: MedusaShippingMethod[];
  payment_sessions: MedusaPaymentSession[];
  discounts: { code: string }[];
  completed_at: string | null;
}

/** `POST /store/carts/:id/complete`: an order, or the cart again when the payment needs more. */
export type MedusaCompletion =
  { type: "order"; data: { id: string } } | { type: "cart"; data: MedusaCart } | { type: "swap"; data: unknown };
