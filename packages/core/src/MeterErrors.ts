/**
 * Stripe's meter error reports. Meter events are accepted (200) before they are validated; the ones
 * that fail later are reported by thin events, `v1.billing.meter.error_report_triggered` and
 * `v1.billing.meter.no_meter_found`, sent to an event destination (`object: "v2.core.event"`). The
 * thin payload names the event only; the event read from `GET /v2/core/events/:id` carries
 * `data.reason.error_types[].sample_errors[].request.identifier`
 * (docs.stripe.com/api/v2/core/events/event-types). This library's identifiers name the customer and
 * the UTC day (`UsageSync.identifierFor`), so each sample names a customer-day whose units Stripe
 * dropped: the record keeps it in `reconcileDays` for `reconcile`, and the report is logged.
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Customer from "./Customer.js"
import type { CustomerRepo, CustomerRepoError, VersionConflict } from "./CustomerRepo.js"
import { CustomerId, EventId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as Records from "./internal/records.js"
import { Stripe, type StripeError } from "./Stripe.js"
import { StripeEventDecodeError } from "./StripeEvent.js"
import * as UtcDay from "./UtcDay.js"

/** The thin event types that report meter events Stripe rejected after accepting them. @since 0.2.0 @category constants */
export const reportTypes: ReadonlySet<string> = new Set([
  "v1.billing.meter.error_report_triggered",
  "v1.billing.meter.no_meter_found"
])

/**
 * Whether `raw` is a thin event notification (`object: "v2.core.event"`), not a snapshot event.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isThinEvent = (raw: unknown): boolean =>
  typeof raw === "object" && raw !== null && (raw as { readonly object?: unknown }).object === "v2.core.event"

const Notification = Schema.Struct({
  id: EventId,
  object: Schema.Literal("v2.core.event"),
  type: Schema.String,
  livemode: Schema.optional(Schema.Boolean)
})

const Sample = Schema.Struct({
  error_message: Schema.optional(Schema.String),
  request: Schema.optional(Schema.NullOr(Schema.Struct({ identifier: Schema.optional(Schema.NullOr(Schema.String)) })))
})

// The fetched event; fields the handling does not need are optional so that an unversioned change
// of the payload (thin events are unversioned) does not lose the report.
const Report = Schema.Struct({
  id: EventId,
  type: Schema.String,
  data: Schema.Struct({
    developer_message_summary: Schema.optional(Schema.String),
    validation_start: Schema.optional(Schema.String),
    validation_end: Schema.optional(Schema.String),
    reason: Schema.Struct({
      error_count: Schema.Int,
      error_types: Schema.Array(Schema.Struct({
        code: Schema.String,
        error_count: Schema.optional(Schema.Int),
        sample_errors: Schema.optionalWith(Schema.Array(Sample), { default: () => [] })
      }))
    })
  })
})

/** A customer-day a rejected meter event belonged to. @since 0.2.0 @category models */
export interface CustomerDay {
  readonly customerId: CustomerId
  readonly day: UtcDay.UtcDay
}

const identifierPattern = /^ab2:(cus_[A-Za-z0-9]+):[A-Za-z0-9_-]+:(\d{4}-\d{2}-\d{2}):\d+$/

/**
 * The customer-day of a meter event identifier made by `UsageSync.identifierFor`; undefined for a
 * hashed one (ids too long to spell out) or one this library did not make.
 *
 * @since 0.2.0
 * @category utils
 */
export const customerDayOf = (identifier: string): CustomerDay | undefined => {
  const match = identifierPattern.exec(identifier)
  if (match === null) return undefined
  const customerId = Schema.decodeUnknownOption(CustomerId)(match[1])
  const day = Schema.decodeUnknownOption(UtcDay.UtcDay)(match[2])
  return Option.isSome(customerId) && Option.isSome(day) ? { customerId: customerId.value, day: day.value } : undefined
}

/** A meter error report handled. @since 0.2.0 @category models */
export interface Handled {
  readonly _tag: "Handled"
  readonly eventId: EventId
  readonly type: string
  /** Rejected meter events Stripe counted in the report (it sends samples of them only). */
  readonly errorCount: number
  /** The customer-days named by the samples, in order. */
  readonly days: ReadonlyArray<CustomerDay>
  /** Records that gained a day to reconcile. */
  readonly flagged: number
}

/**
 * What handling a thin event came to: a report `Handled`, a report processed before (`Duplicate`), or
 * another thin event type, left alone (`Other`).
 *
 * @since 0.2.0
 * @category models
 */
export type Result =
  | Handled
  | { readonly _tag: "Duplicate"; readonly eventId: EventId }
  | { readonly _tag: "Other"; readonly eventId: EventId; readonly type: string }

const decodeFailure = (message: string, id?: string, type?: string) =>
  new StripeEventDecodeError({
    message,
    ...(id === undefined ? {} : { eventId: id }),
    ...(type === undefined ? {} : { eventType: type })
  })

/**
 * The record with `days` added to `reconcileDays` (sorted, days past the ledger's retention
 * dropped); `None` when it holds them all already.
 *
 * @since 0.2.0
 * @category utils
 */
export const withReconcileDays = (
  customer: Customer.Customer,
  days: ReadonlyArray<UtcDay.UtcDay>,
  today: UtcDay.UtcDay
): Option.Option<Customer.Customer> => {
  const held = customer.reconcileDays ?? []
  const added = days.filter((d) => !held.includes(d))
  if (added.length === 0) return Option.none()
  const oldest = UtcDay.add(today, -Customer.LEDGER_RETENTION_DAYS)
  const next = [...new Set([...held, ...added])].filter((d) => d >= oldest).sort(UtcDay.compare)
  return Option.some({ ...customer, reconcileDays: next })
}

/**
 * Handle a verified thin event notification: a meter error report is read in full, logged, and its
 * customer-days flagged on their records; any other thin event is left alone. An event
 * of the other mode, or a report whose body is not the documented shape, is a decode error.
 *
 * @since 0.2.0
 * @category flows
 */
export const handle = Effect.fn("MeterErrors.handle")(function*(raw: unknown): Effect.fn.Return<
  Result,
  StripeEventDecodeError | StripeError | CustomerRepoError | VersionConflict,
  Stripe | CustomerRepo | BillingConfig
> {
  const notice = yield* Schema.decodeUnknown(Notification)(raw).pipe(
    Effect.mapError((e) => decodeFailure(`a thin event notification is malformed: ${e.message}`))
  )
  const livemode = (yield* Stripe).livemode
  if (notice.livemode !== undefined && notice.livemode !== livemode) {
    return yield* decodeFailure(
      `a ${notice.livemode ? "live" : "test"}-mode event reached a ${livemode ? "live" : "test"}-mode key`,
      notice.id,
      notice.type
    )
  }
  if (!reportTypes.has(notice.type)) return { _tag: "Other", eventId: notice.id, type: notice.type }
  const repo = yield* Ports.repo
  if (yield* repo.isProcessed(notice.id)) return { _tag: "Duplicate", eventId: notice.id }
  const stripe = yield* Ports.stripe
  const report = yield* Schema.decodeUnknown(Report)(yield* stripe.retrieveEvent(notice.id)).pipe(
    Effect.mapError((e) => decodeFailure(`a meter error report is malformed: ${e.message}`, notice.id, notice.type))
  )
  const samples = report.data.reason.error_types.flatMap((t) =>
    t.sample_errors.map((s) => ({ code: t.code, identifier: s.request?.identifier ?? undefined }))
  )
  const days = samples.flatMap((s) => {
    const found = s.identifier === undefined || s.identifier === null ? undefined : customerDayOf(s.identifier)
    return found === undefined ? [] : [found]
  })
  const byCustomer = new Map<CustomerId, Array<UtcDay.UtcDay>>()
  for (const { customerId, day } of days) byCustomer.set(customerId, [...(byCustomer.get(customerId) ?? []), day])
  const now = yield* Clock.currentTimeMillis
  const today = UtcDay.fromMillis(now)
  let flagged = 0
  for (const [customerId, customerDays] of byCustomer) {
    const written = yield* Records.updateRecord(customerId, (c) => withReconcileDays(c, customerDays, today))
    if (Option.isSome(written)) flagged++
  }
  yield* Effect.logError("Stripe rejected meter events it had accepted: customer-days flagged for reconcile").pipe(
    Effect.annotateLogs({
      errorCount: report.data.reason.error_count,
      codes: [...new Set(samples.map((s) => s.code))].join(","),
      customerDays: days.map((d) => `${d.customerId}/${d.day}`).join(","),
      unattributed: samples.length - days.length,
      flagged,
      ...(report.data.validation_start === undefined ? {} : { validationStart: report.data.validation_start }),
      ...(report.data.validation_end === undefined ? {} : { validationEnd: report.data.validation_end })
    })
  )
  const config = yield* BillingConfig
  yield* repo.markProcessed({
    eventId: notice.id,
    expiresAt: Math.floor((now + Duration.toMillis(config.processedEventTtl)) / 1000)
  })
  return {
    _tag: "Handled",
    eventId: notice.id,
    type: notice.type,
    errorCount: report.data.reason.error_count,
    days,
    flagged
  }
})
