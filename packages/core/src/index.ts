/**
 * @augint-billing/core: billing flows as Effect programs over four ports.
 *
 * @since 0.1.0
 */

/** Billing settings read through `Config`. */
export * as BillingConfig from "./BillingConfig.js"
/** Paying the open invoices a cancel stopped collecting. */
export * as Collection from "./Collection.js"
/** A link where a free customer adds a card. */
export * as CardLink from "./CardLink.js"
/** The customer record and its usage ledger. */
export * as Customer from "./Customer.js"
/** The `CustomerRepo` port. */
export * as CustomerRepo from "./CustomerRepo.js"
/** Settings of the customer-facing side. */
export * as CustomerSettings from "./CustomerSettings.js"
/** What a customer sees of their usage and bill. */
export * as CustomerUsage from "./CustomerUsage.js"
/** The sync fanned out: coordinator and workers. */
export * as FanOut from "./FanOut.js"
/** Handling Stripe webhook events. */
export * as HandleEvent from "./HandleEvent.js"
/** Branded identifiers. */
export * as Ids from "./Ids.js"
/** Moving a key between usage plans. */
export * as KeyMove from "./KeyMove.js"
/** The identifier and timestamp of a usage report's meter event. */
export * as MeterReport from "./MeterReport.js"
/** Meter events gathered into Stripe's v2 meter event stream, a hundred to a request. */
export * as MeterBatch from "./MeterBatch.js"
/** Stripe's reports of meter events it rejected after accepting them. */
export * as MeterErrors from "./MeterErrors.js"
/** Linking a customer to an API key: the record, the key's plan, a promotion when they can already pay. */
export * as Link from "./Link.js"
/** The record of a new link between a customer and an API key. */
export * as NewLink from "./NewLink.js"
/** The `PlanAdmin` port. */
export * as PlanAdmin from "./PlanAdmin.js"
/** The sync's repair of keys left in the wrong usage plan. */
export * as PlanRepair from "./PlanRepair.js"
/** What an event calls for. */
export * as Policy from "./Policy.js"
/** How an applied event changes the customer record. */
export * as RecordChange from "./RecordChange.js"
/** Named retry and timeout policies. */
export * as Retry from "./Retry.js"
/** The optional hard spend cap and the FREE / METERED / CAPPED plan ladder. */
export * as SpendCap from "./SpendCap.js"
/** Spend alerts at thresholds of a customer's limit, and the `AlertSink` port. */
export * as SpendAlerts from "./SpendAlerts.js"
/** The `Stripe` port. */
export * as Stripe from "./Stripe.js"
/** Decoding Stripe webhook events. */
export * as StripeEvent from "./StripeEvent.js"
/** Steps the sync runs when they are in its context. */
export * as SyncHooks from "./SyncHooks.js"
/** Cancelling the metered subscriptions a record no longer needs. */
export * as Subscriptions from "./Subscriptions.js"
/** One customer's sync outside the run's loop: a run's candidate, a webhook's flush. */
export * as SyncOne from "./SyncOne.js"
/** One sync run's deadline, order and tally. */
export * as SyncRun from "./SyncRun.js"
/** Errors that say whether a retry can help. */
export * as Transient from "./Transient.js"
/** Reading usage counts, every page. */
export * as UsageRead from "./UsageRead.js"
/** The `UsageSource` port. */
export * as UsageSource from "./UsageSource.js"
/** The hourly usage sync. */
export * as UsageSync from "./UsageSync.js"
/** UTC calendar days. */
export * as UtcDay from "./UtcDay.js"
