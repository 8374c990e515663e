// Sending a written-ahead report's meter event, and asking Stripe whether it already holds one: the
// per-report Stripe calls of `UsageSync`. Why: see DESIGN.md, "Exactly-once reporting" and "What the
// real services do".
import { Effect } from "effect"
import type * as Customer from "../Customer.js"
import type { CustomerId } from "../Ids.js"
import type { Stripe } from "../Stripe.js"
import * as UtcDay from "../UtcDay.js"

type StripeService = Stripe["Type"]

/**
 * Whether Stripe's totals for the report's day already hold it (the ledger's total plus what Stripe has
 * beyond the ledger, `stripeOffset`). A customer Stripe no longer knows has no totals to show: false.
 */
export const acceptedByStripe = (stripe: StripeService, customer: Customer.Customer, pending: Customer.PendingReport) =>
  stripe.meterEventSummaries({
    customerId: customer.customerId,
    start: UtcDay.startMillis(pending.day) / 1000,
    end: (UtcDay.endMillis(pending.day) + 1) / 1000
  }).pipe(
    Effect.map((summaries) =>
      summaries.reduce((sum, s) => sum + s.value, 0) >= pending.total + (customer.stripeOffset?.[pending.day] ?? 0)
    ),
    Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(false))
  )

/**
 * Send the report's meter event with the identifier and timestamp written ahead. True when the customer
 * was deleted in Stripe: Stripe refuses its events for good ("No such customer") and cancelled its
 * subscriptions with no invoice at the deletion (docs.stripe.com/api/customers/delete), so the units are
 * unbillable. Only a customer Stripe answers as `deleted` is: a customer Stripe never knew (a key of
 * another account, test against live) fails the report as refused, written off nowhere.
 */
export const send = (stripe: StripeService, customerId: CustomerId, pending: Customer.PendingReport) =>
  stripe.reportUsage({
    customerId,
    value: pending.value,
    identifier: pending.identifier,
    timestamp: pending.timestamp
  }).pipe(
    Effect.as(false),
    Effect.catchIf((e) => e.reason === "NotFound", (refused) =>
      Effect.flatMap(
        stripe.getCustomer(customerId),
        (customer) => customer.deleted ? Effect.succeed(true) : Effect.fail(refused)
      ))
  )
