/**
 * @augint-billing/lambda: the AWS Lambda shell. Handler entries are `handlers/webhook`,
 * `handlers/schedule` and `handlers/usage` (bundled by `npm run bundle`); these modules build them.
 *
 * @since 0.1.0
 */

/** The functions' metrics and their Embedded Metric Format reporter. */
export * as Emf from "./Emf.js"
/** Layers and the per-container runtime. */
export * as LambdaRuntime from "./LambdaRuntime.js"
/** The hourly usage sync handler. */
export * as Schedule from "./Schedule.js"
/** The fanned-out sync's coordinator handler. */
export * as SyncCoordinator from "./SyncCoordinator.js"
/** The fanned-out sync's SQS worker handler. */
export * as SyncWorker from "./SyncWorker.js"
/** The customer usage endpoint. */
export * as UsageApi from "./UsageApi.js"
/** The Stripe webhook handler. */
export * as Webhook from "./Webhook.js"
