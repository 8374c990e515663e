/**
 * What an API's customer sees of their own billing: the plan, usage this billing period and today,
 * the free quota left, units reported to Stripe and still to report, and for a metered customer the
 * invoice Stripe would send for the period so far (its invoice preview).
 *
 * @since 0.2.0
 */
import { Clock, Effect, Option, Schema } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Customer from "./Customer.js"
import { CustomerSettings, type FreeQuota } from "./CustomerSettings.js"
import { ApiKeyId, CustomerId } from "./Ids.js"
import * as Cap from "./internal/cap.js"
import * as Ledger from "./internal/ledger.js"
import * as Ports from "./internal/ports.js"
import * as UsageRead from "./UsageRead.js"
import * as UtcDay from "./UtcDay.js"

/** No customer record for the id or API key asked about. @since 0.2.0 @category errors */
export class UnknownCustomer extends Schema.TaggedError<UnknownCustomer>()("UnknownCustomer", {
  message: Schema.String
}) {}

/** The invoice Stripe would send for the period so far. @since 0.2.0 @category models */
export const ProjectedInvoice = Schema.Struct({
  currency: Schema.String,
  /** Smallest currency unit (cents). */
  total: Schema.Int,
  amountDue: Schema.Int,
  units: Schema.Number,
  periodStart: Schema.Int,
  periodEnd: Schema.Int
})

/** The customer's view of their usage and bill. @since 0.2.0 @category models */
export const UsageView = Schema.Struct({
  customerId: CustomerId,
  apiKeyId: ApiKeyId,
  plan: Customer.Plan,
  /** Epoch millis the view was computed (a cached answer says how old it is). */
  asOf: Schema.Int,
  /**
   * The days counted, oldest first: a metered customer's Stripe billing period (from its invoice
   * preview), a free customer's quota period (UTC day or calendar month).
   */
  period: Schema.Struct({ start: UtcDay.UtcDay, end: UtcDay.UtcDay }),
  /** Requests API Gateway counted in the key's current plan over the period. */
  periodUnits: Schema.Int,
  /** Requests counted today (UTC). */
  todayUnits: Schema.Int,
  /** A free customer's quota and what is left of it. */
  freeQuota: Schema.optional(Schema.Struct({
    limit: Schema.Int,
    period: Schema.Literal("DAY", "MONTH"),
    remaining: Schema.Int
  })),
  /** Units Stripe accepted for this customer over the period. */
  unitsReported: Schema.Int,
  /** Metered units counted but not reported yet (the hourly sync reports them). */
  unitsToReport: Schema.Int,
  projectedInvoice: Schema.optional(ProjectedInvoice),
  /** The customer's spend cap this period and whether the key is capped now (absent without a cap). */
  cap: Schema.optional(Cap.CapView)
})
/** The customer's view of their usage and bill. @since 0.2.0 @category models */
export type UsageView = typeof UsageView.Type

/**
 * The days of a free quota period that contains `today`: the day itself, or the calendar month so far.
 *
 * @since 0.2.0
 * @category utils
 */
export const quotaDays = (quota: FreeQuota, today: UtcDay.UtcDay): ReadonlyArray<UtcDay.UtcDay> =>
  quota.period === "DAY" ? [today] : UtcDay.between(`${today.slice(0, 8)}01` as UtcDay.UtcDay, today)

/**
 * Units Stripe accepted for the customer on `days`: the ledger plus `stripeOffset` (a link's ledger is
 * seeded with the key's earlier counts, which were never sent), less the units written off as
 * unbillable (`Customer.unbillable`).
 *
 * @since 0.2.0
 * @category utils
 */
export const reportedOn: (customer: Customer.Customer, days: ReadonlyArray<UtcDay.UtcDay>) => number = Ledger.reportedOn

/**
 * Units counted beyond the ledger on `days`, what the next sync reports (a day counted below its
 * ledger is an anomaly the sync flags, never a negative).
 *
 * @since 0.2.0
 * @category utils
 */
export const toReportOn = (
  customer: Customer.Customer,
  days: ReadonlyArray<UtcDay.UtcDay>,
  counts: ReadonlyArray<number> | undefined
): number => days.reduce((sum, d, i) => sum + Math.max(0, (counts?.[i] ?? 0) - Customer.reported(customer, d)), 0)

const sum = (counts: ReadonlyArray<number> | undefined): number => (counts ?? []).reduce((a, b) => a + b, 0)

/**
 * The usage view of a customer record: one GetUsage for the key, and for a metered customer one
 * invoice preview (which also gives the billing period).
 *
 * @since 0.2.0
 * @category flows
 */
export const viewOf = Effect.fn("CustomerUsage.viewOf")(function*(customer: Customer.Customer) {
  const config = yield* BillingConfig
  const settings = yield* CustomerSettings
  const now = yield* Clock.currentTimeMillis
  const today = UtcDay.fromMillis(now)
  const metered = customer.plan === "METERED" && customer.subscriptionId !== undefined
  const preview = metered
    ? Option.some(
      yield* (yield* Ports.stripe).previewInvoice({
        customerId: customer.customerId,
        subscriptionId: customer.subscriptionId!
      })
    )
    : Option.none()
  const days = Option.match(preview, {
    // A period that began on an earlier day counts from that day; GetUsage reads whole UTC days.
    onSome: (p) => UtcDay.between(UtcDay.fromMillis(Math.min(p.periodStart * 1000, now)), today),
    onNone: () =>
      settings.freeQuota === undefined || customer.plan === "METERED"
        ? UtcDay.between(`${today.slice(0, 8)}01` as UtcDay.UtcDay, today)
        : quotaDays(settings.freeQuota, today)
  }).slice(-90) // GetUsage refuses longer ranges; a Stripe period is at most a year, usually a month.
  const observed = yield* UsageRead.readUsage({
    usagePlanId: customer.plan === "METERED" ? config.meteredPlanId : config.freePlanId,
    days,
    apiKeyId: customer.apiKeyId
  })
  const counts = observed.byKey.get(customer.apiKeyId)
  const periodUnits = sum(counts)
  const view: UsageView = {
    customerId: customer.customerId,
    apiKeyId: customer.apiKeyId,
    plan: customer.plan,
    asOf: now,
    period: { start: days[0]!, end: days[days.length - 1]! },
    periodUnits,
    todayUnits: counts?.[days.length - 1] ?? 0,
    ...(customer.plan === "FREE" && settings.freeQuota !== undefined
      ? {
        freeQuota: {
          ...settings.freeQuota,
          remaining: Math.max(0, settings.freeQuota.limit - periodUnits)
        }
      }
      : {}),
    unitsReported: reportedOn(customer, days),
    unitsToReport: customer.plan === "METERED" ? toReportOn(customer, days, counts) : 0,
    ...Option.match(preview, { onNone: () => ({}), onSome: (projectedInvoice) => ({ projectedInvoice }) }),
    ...Option.match(Option.fromNullable(Cap.viewOf(customer, config, now)), {
      onNone: () => ({}),
      onSome: (cap) => ({ cap })
    })
  }
  return view
})

/**
 * The usage view of the customer with this id; `UnknownCustomer` when there is no record.
 *
 * @since 0.2.0
 * @category flows
 */
export const usageOf = Effect.fn("CustomerUsage.usageOf")(function*(customerId: CustomerId) {
  const record = yield* (yield* Ports.repo).get(customerId)
  if (Option.isNone(record)) return yield* new UnknownCustomer({ message: `no customer record for ${customerId}` })
  return yield* viewOf(record.value)
})

/**
 * The usage view of the customer linked to this API key (`requestContext.identity.apiKeyId`);
 * `UnknownCustomer` when the key is linked to none.
 *
 * @since 0.2.0
 * @category flows
 */
export const usageOfKey = Effect.fn("CustomerUsage.usageOfKey")(function*(apiKeyId: ApiKeyId) {
  const record = yield* (yield* Ports.repo).findByApiKey(apiKeyId)
  if (Option.isNone(record)) return yield* new UnknownCustomer({ message: "this API key is linked to no customer" })
  return yield* viewOf(record.value)
})
