/**
 * The decision a Stripe event calls for, as a pure function of the event, the customer record and
 * the demotion policy. Applying it is `HandleEvent`'s job.
 *
 * @since 0.1.0
 */
import { Data, Duration } from "effect"
import type { DemotionPolicy } from "./BillingConfig.js"
import type { Customer } from "./Customer.js"
import { type StripeCustomer, usablePaymentMethod } from "./Stripe.js"
import type { StripeEvent } from "./StripeEvent.js"

/** What an event calls for. @since 0.1.0 @category models */
export type Decision = Data.TaggedEnum<{
  /**
   * Ensure the metered subscription and move the key to the metered plan. `paymentMethodId`: the card
   * the subscription is to be charged to (its `default_payment_method`), when Stripe was asked.
   */
  Promote: { readonly cause: string; readonly paymentMethodId?: string }
  /** Move the key to the free plan, report the usage so far, cancel with a final invoice. */
  /** `nonPayment`: demoted because payments failed, so a later paid invoice promotes again. */
  Demote: { readonly reason: string; readonly nonPayment: boolean }
  /** Remember that payments are failing (for a grace period), change no plan. */
  RecordFailure: { readonly failedAt: number }
  /**
   * Report the customer's unreported usage now (an invoice is about to be finalized), stamped before
   * `periodEnd` (epoch seconds) where the day allows, so it lands on the invoice being finalized.
   */
  Flush: { readonly periodEnd?: number | undefined }
  /** Nothing to do. */
  NoChange: { readonly reason: string }
}>
/** Constructors of `Decision`. @since 0.1.0 @category utils */
export const Decision = Data.taggedEnum<Decision>()

/** Whether applying the decision changes the customer's plan or payment state. @since 0.1.0 @category utils */
export const changesState = (decision: Decision): boolean =>
  decision._tag === "Promote" || decision._tag === "Demote" || decision._tag === "RecordFailure"

/** Subscription statuses after which the customer cannot pay for metered usage. */
const endedStatuses: ReadonlySet<string> = new Set(["unpaid", "canceled", "incomplete_expired"])

/**
 * What a handled event calls for. `stripeCustomer` is what Stripe says now (read for events that
 * promote or remove a payment method): promotion needs a card Stripe would charge once it is the
 * subscription's default. `hasPaymentMethod` alone (no card known) says only whether one exists; when
 * neither is given, promotion assumes a usable one.
 *
 * @since 0.1.0
 * @category utils
 */
export const decide = (
  event: Exclude<StripeEvent, { readonly _tag: "Ignored" }>,
  customer: Customer,
  context: {
    readonly policy: DemotionPolicy
    readonly hasPaymentMethod?: boolean
    readonly stripeCustomer?: StripeCustomer
  }
): Decision => {
  const isOurSubscription = (id: string) => customer.subscriptionId === id
  const billable = customer.plan === "METERED" || customer.subscriptionId !== undefined
  // A FREE record with a settle window and no subscription may be mid-promotion (its write-ahead): a
  // card removed or a customer deleted now must still demote, so the promotion's write turns stale.
  const mayBeBillable = billable || customer.settleUntil !== undefined
  // Deliveries are unordered: a card attached and then removed must not promote when the attach
  // arrives last, so promotion asks Stripe whether a usable payment method exists now.
  const stripeCustomer = context.stripeCustomer
  const cardFor = (preferred?: string) =>
    stripeCustomer === undefined ? undefined : usablePaymentMethod(stripeCustomer, preferred)
  const canPay = stripeCustomer === undefined ? context.hasPaymentMethod !== false : cardFor() !== undefined
  const promote = (cause: string, preferred?: string) => {
    const paymentMethodId = cardFor(preferred)
    return paymentMethodId === undefined ? Decision.Promote({ cause }) : Decision.Promote({ cause, paymentMethodId })
  }
  const noPaymentMethod = Decision.NoChange({ reason: "no usable payment method now" })
  // Invoices belong to subscriptions: a merchant's other products and one-off invoices (those have no
  // Smart Retries after one failure) must neither demote nor promote the metered customer.
  const retires = (id: string) => (customer.retiring ?? []).some((retired) => retired === id)
  // Ours: the record's subscription, one it retires, or (while the record holds none: a promotion's
  // write-ahead, or after a settle close forgot it) one this library made.
  const ours = (invoice: { readonly subscriptionId: string | undefined; readonly managed: boolean }) =>
    invoice.subscriptionId !== undefined &&
    (invoice.subscriptionId === customer.subscriptionId || retires(invoice.subscriptionId) ||
      (invoice.managed && customer.subscriptionId === undefined))
  const notOurs = (invoice: { readonly invoiceId: string; readonly subscriptionId: string | undefined }) =>
    Decision.NoChange({
      reason: invoice.subscriptionId === undefined
        ? `invoice ${invoice.invoiceId} is a one-off invoice, not the metered subscription's`
        : `invoice ${invoice.invoiceId} is of subscription ${invoice.subscriptionId}, not one this record holds`
    })
  switch (event._tag) {
    case "SetupIntentSucceeded":
      return canPay ? promote(event.setupIntentId, event.paymentMethodId) : noPaymentMethod
    case "PaymentMethodAttached":
      return canPay ? promote(event.paymentMethodId, event.paymentMethodId) : noPaymentMethod
    case "PaymentMethodDetached":
      return (stripeCustomer === undefined ? context.hasPaymentMethod !== false : canPay)
        // The detached card may have been the subscription's default (Stripe then charges nothing):
        // a metered customer is re-pointed at a card that remains.
        ? customer.plan === "METERED" && stripeCustomer !== undefined
          ? promote(event.paymentMethodId)
          : Decision.NoChange({ reason: "another payment method remains" })
        : mayBeBillable
        ? Decision.Demote({ reason: "no usable payment method left", nonPayment: false })
        : Decision.NoChange({ reason: "customer is not on the metered plan" })
    case "InvoicePaymentFailed": {
      if (event.subscriptionId === undefined || event.subscriptionId !== customer.subscriptionId) {
        return event.subscriptionId !== undefined && retires(event.subscriptionId)
          ? Decision.NoChange({ reason: `invoice ${event.invoiceId} of the replaced subscription failed` })
          : notOurs(event)
      }
      if (!billable) return Decision.NoChange({ reason: "customer is not on the metered plan" })
      const final = event.nextPaymentAttempt === undefined
      const failingSince = Math.min(customer.paymentFailedAt ?? event.created, event.created)
      switch (context.policy._tag) {
        case "Immediately":
          return Decision.Demote({ reason: "payment failed", nonPayment: true })
        case "FinalAttempt":
          return final
            ? Decision.Demote({ reason: "final payment attempt failed", nonPayment: true })
            : Decision.RecordFailure({ failedAt: event.created })
        case "GracePeriod":
          return final
            ? Decision.Demote({ reason: "final payment attempt failed", nonPayment: true })
            : (event.created - failingSince) * 1000 >= Duration.toMillis(context.policy.grace)
            ? Decision.Demote({
              reason: `payments failing for ${Duration.format(context.policy.grace)}`,
              nonPayment: true
            })
            : Decision.RecordFailure({ failedAt: event.created })
      }
    }
    case "InvoicePaid":
      // A customer demoted for non-payment who pays an invoice of ours is promoted again.
      return !ours(event)
        ? notOurs(event)
        : customer.paymentFailedAt === undefined
        ? Decision.NoChange({ reason: "no failed payment to recover from" })
        : canPay
        ? promote(event.invoiceId)
        : noPaymentMethod
    case "InvoiceCreated":
      return !ours(event)
        ? notOurs(event)
        : billable || customer.settleUntil !== undefined
        ? Decision.Flush({ periodEnd: event.periodEnd })
        : Decision.NoChange({ reason: "nothing metered to flush" })
    // A subscription that ends while the customer is already demoted changes nothing: the settle close
    // ends it anyway (and its own cancel sends this event). Demoting again would only move the event
    // clock past a card added meanwhile and make that promotion stale.
    case "SubscriptionUpdated":
      return isOurSubscription(event.subscriptionId) && endedStatuses.has(event.status)
        ? customer.plan === "FREE"
          ? Decision.NoChange({ reason: `subscription became ${event.status}; the customer is already demoted` })
          : Decision.Demote({ reason: `subscription became ${event.status}`, nonPayment: event.status === "unpaid" })
        : Decision.NoChange({ reason: `subscription ${event.subscriptionId} is ${event.status}` })
    case "SubscriptionDeleted":
      return isOurSubscription(event.subscriptionId)
        ? customer.plan === "FREE"
          ? Decision.NoChange({ reason: "subscription deleted; the customer is already demoted" })
          : Decision.Demote({ reason: "subscription deleted", nonPayment: false })
        : Decision.NoChange({ reason: `subscription ${event.subscriptionId} is not the metered one` })
    case "CustomerDeleted":
      return mayBeBillable
        ? Decision.Demote({ reason: "customer deleted", nonPayment: false })
        : Decision.NoChange({ reason: "customer is not on the metered plan" })
  }
}
