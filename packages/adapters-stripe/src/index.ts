/**
 * @augint-billing/adapters-stripe: the `Stripe` port on the stripe SDK.
 *
 * @since 0.1.0
 */

/** The production `Stripe` port: `layer`, `layerConfig`. */
export * as StripeAdapter from "./StripeAdapter.js"
/** The stripe SDK client as a scoped, rate-limited service. */
export * as StripeClient from "./StripeClient.js"
