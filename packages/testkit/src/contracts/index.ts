/**
 * Contract suites, one per port: functions that take a Layer and register @effect/vitest tests.
 * Import from `@augint-billing/testkit/contracts` in a vitest test file.
 *
 * @since 0.1.0
 */

/** The `CustomerRepo` contract. */
export * as CustomerRepoContract from "./CustomerRepoContract.js"
/** The `PlanAdmin` contract. */
export * as PlanAdminContract from "./PlanAdminContract.js"
/** The `Stripe` contract. */
export * as StripeContract from "./StripeContract.js"
/** The `UsageSource` contract. */
export * as UsageSourceContract from "./UsageSourceContract.js"
