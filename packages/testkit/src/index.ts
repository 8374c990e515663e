/**
 * @augint-billing/testkit: in-memory Layers of the four ports, a driver to steer them, and the
 * simulated month. Contract suites live in `@augint-billing/testkit/contracts` (they need vitest).
 *
 * @since 0.1.0
 */

/** An in-memory `AlertSink`. */
export * as AlertSinkMemory from "./AlertSinkMemory.js"
/** The spend cap's invariants on the in-memory state. */
export * as CapInvariants from "./CapInvariants.js"
/** An in-memory `CustomerRepo`. */
export * as CustomerRepoMemory from "./CustomerRepoMemory.js"
/** DESIGN.md's invariants on the in-memory state. */
export * as Invariants from "./Invariants.js"
/** Steering and reading the in-memory state. */
export * as Driver from "./Driver.js"
/** All four ports in memory on shared state. */
export * as Memory from "./Memory.js"
/** The state behind the in-memory Layers. */
export * as MemoryState from "./MemoryState.js"
/** An in-memory `PlanAdmin`. */
export * as PlanAdminMemory from "./PlanAdminMemory.js"
/** The simulated month behind `npm run demo`. */
export * as Simulation from "./Simulation.js"
/** Stripe webhook event JSON builders. */
export * as StripeEvents from "./StripeEvents.js"
/** An in-memory `Stripe`. */
export * as StripeMemory from "./StripeMemory.js"
/** Thin event notifications (meter error reports) with their full events in memory. */
export * as ThinEvents from "./ThinEvents.js"
/** An in-memory `UsageSource`. */
export * as UsageSourceMemory from "./UsageSourceMemory.js"
