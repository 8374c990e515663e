/**
 * @augint-billing/adapters-stripe: the `Stripe` port on the stripe SDK.
 *
 * @since 0.1.0
 */

/**
 * The production `Stripe` port: `layer`, `layerConfig`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as StripeAdapter from "./StripeAdapter.js"
/**
 * The adapter's options and the environment they are read from.
 *
 * @since 0.2.0
 * @category modules
 */
export * as StripeConfig from "./StripeConfig.js"
/**
 * The stripe SDK client as a scoped, rate-limited service.
 *
 * @since 0.1.0
 * @category modules
 */
export * as StripeClient from "./StripeClient.js"
