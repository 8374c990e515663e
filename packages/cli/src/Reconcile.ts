/**
 * `reconcile`: per customer and UTC day, what API Gateway counted in the metered plan, what the ledger
 * says was reported, and what Stripe's meter event summaries hold. `--fix` reports the units API
 * Gateway counted but the ledger does not hold through the sync's exactly-once path (write ahead,
 * deterministic identifier, commit), for the days Stripe still accepts.
 *
 * @since 0.1.0
 */
import {
  BillingConfig,
  Customer,
  CustomerRepo,
  HandleEvent,
  Ids,
  Stripe,
  UsageSource,
  UsageSync,
  UtcDay
} from "@augint-billing/core"
import { Chunk, Clock, Duration, Effect, Either, Option, Schema, Stream } from "effect"
import * as Ports from "./internal/ports.js"
import { progress, table } from "./Output.js"
import { CliError } from "./Shell.js"

/** How a customer-day's three numbers relate. @since 0.1.0 @category models */
export const Drift = Schema.Literal(
  /** API Gateway counted more than was reported: the next sync (or `--fix`) reports it. */
  "unreported",
  /** API Gateway counts less than was reported: flagged, never billed back. */
  "count-went-down",
  /** The ledger and Stripe's summaries disagree (summaries can lag by minutes). */
  "stripe-mismatch",
  /**
   * Stripe sent a meter error report naming this day (`reconcileDays`, core's `MeterErrors`): an
   * event it accepted was rejected later. `--fix` clears the flag once Stripe holds what the ledger says.
   */
  "meter-error"
)
/** How a customer-day's three numbers relate. @since 0.1.0 @category models */
export type Drift = typeof Drift.Type

/** One customer-day that does not agree. @since 0.1.0 @category models */
export const Row = Schema.Struct({
  customerId: Ids.CustomerId,
  apiKeyId: Ids.ApiKeyId,
  day: UtcDay.UtcDay,
  apiGateway: Schema.Int,
  ledger: Schema.Int,
  stripe: Schema.Int,
  drift: Schema.Array(Drift)
})
/** One customer-day that does not agree. @since 0.1.0 @category models */
export type Row = typeof Row.Type

/** What a reconciliation found (and fixed). @since 0.1.0 @category models */
export const Report = Schema.Struct({
  from: UtcDay.UtcDay,
  to: UtcDay.UtcDay,
  customers: Schema.Int,
  rows: Schema.Array(Row),
  /** Days flagged by meter error reports outside `[from, to]`: reconcile them with `--from`. */
  flaggedOutside: Schema.Array(Schema.Struct({ customerId: Ids.CustomerId, day: UtcDay.UtcDay })),
  fixed: Schema.NullOr(Schema.Struct({
    customers: Schema.Int,
    unitsReported: Schema.Int,
    /** Meter-error flags cleared: Stripe now holds what the ledger says for the day. */
    flagsCleared: Schema.Int,
    failures: Schema.Array(Schema.Struct({ customerId: Ids.CustomerId, reason: Schema.String }))
  }))
})
/** What a reconciliation found (and fixed). @since 0.1.0 @category models */
export type Report = typeof Report.Type

/** Reconcile `[from, to]` (UTC days, at most 90), optionally fixing unreported units. @since 0.1.0 @category flows */
export const reconcile = (
  input: { readonly from: UtcDay.UtcDay; readonly to: UtcDay.UtcDay; readonly fix: boolean }
) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig.BillingConfig
    const repo = yield* Ports.repo
    const stripe = yield* Ports.stripe
    const days = UtcDay.between(input.from, input.to)
    const observed = yield* UsageSync.readUsage({ usagePlanId: config.meteredPlanId, days })
    const customers = Chunk.toReadonlyArray(yield* Stream.runCollect(repo.list()))
    const bar = yield* progress("customers reconciled", customers.length)
    const rows: Array<Row> = []
    const unreported = new Set<Ids.CustomerId>()
    const flaggedOutside: Array<{ customerId: Ids.CustomerId; day: UtcDay.UtcDay }> = []
    // Flagged days where Stripe holds what the ledger says: the error was about units Stripe has since
    // accepted (or the ledger never counted), so `--fix` clears them.
    const agreeing: Array<{ customerId: Ids.CustomerId; day: UtcDay.UtcDay }> = []
    yield* Effect.forEach(customers, (customer, i) =>
      Effect.gen(function*() {
        const summaries = yield* stripe.meterEventSummaries({
          customerId: customer.customerId,
          start: UtcDay.startMillis(input.from) / 1000,
          end: (UtcDay.endMillis(input.to) + 1) / 1000
        })
        const billed = new Map<UtcDay.UtcDay, number>()
        for (const s of summaries) {
          const day = UtcDay.fromMillis(s.start * 1000)
          billed.set(day, (billed.get(day) ?? 0) + s.value)
        }
        const counts = observed.byKey.get(customer.apiKeyId)
        const flagged = new Set(customer.reconcileDays ?? [])
        for (const day of flagged) {
          if (day < input.from || day > input.to) flaggedOutside.push({ customerId: customer.customerId, day })
        }
        days.forEach((day, d) => {
          const apiGateway = counts?.[d] ?? 0
          const ledger = Customer.reported(customer, day)
          // Units written off for a customer deleted in Stripe are in the ledger and never in Stripe.
          const accepted = ledger - (customer.unbillable?.[day] ?? 0)
          const inStripe = billed.get(day) ?? 0
          const drift: Array<Drift> = []
          if (apiGateway > ledger) drift.push("unreported")
          if (apiGateway < ledger) drift.push("count-went-down")
          if (accepted !== inStripe) drift.push("stripe-mismatch")
          if (flagged.has(day)) {
            drift.push("meter-error")
            if (accepted === inStripe) agreeing.push({ customerId: customer.customerId, day })
          }
          if (drift.length > 0) {
            rows.push({
              customerId: customer.customerId,
              apiKeyId: customer.apiKeyId,
              day,
              apiGateway,
              ledger,
              stripe: inStripe,
              drift
            })
          }
          if (apiGateway > ledger) unreported.add(customer.customerId)
        })
        bar.update(i + 1)
      })).pipe(Effect.ensuring(Effect.sync(bar.finish)))
    const fixed = input.fix
      ? { ...(yield* fix([...unreported], observed)), flagsCleared: yield* clearFlags(agreeing) }
      : null
    const report: Report = {
      from: input.from,
      to: input.to,
      customers: customers.length,
      rows,
      flaggedOutside,
      fixed
    }
    return report
  })

// Remove the days from their records' `reconcileDays` (a version-checked write; a record that changed
// meanwhile is read again).
const clearFlags = (days: ReadonlyArray<{ readonly customerId: Ids.CustomerId; readonly day: UtcDay.UtcDay }>) =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    let cleared = 0
    for (const { customerId, day } of days) {
      const done = yield* HandleEvent.updateRecord(customerId, (c) => {
        const held = c.reconcileDays ?? []
        if (!held.includes(day)) return Option.none()
        const rest = held.filter((d) => d !== day)
        const { reconcileDays: _, ...without } = c
        return Option.some(rest.length === 0 ? without : { ...without, reconcileDays: rest })
      }).pipe(Effect.provideService(CustomerRepo.CustomerRepo, repo))
      if (Option.isSome(done)) cleared++
    }
    return cleared
  })

// Stripe refuses meter event timestamps older than 35 days: only younger days are fixed.
const fix = (customerIds: ReadonlyArray<Ids.CustomerId>, observed: UsageSync.Observed) =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    const now = yield* Clock.currentTimeMillis
    const oldest = UtcDay.fromMillis(now - Duration.toMillis(Stripe.MAX_METER_EVENT_AGE) + Duration.toMillis("1 day"))
    const keep = observed.days.map((d) => d >= oldest)
    const recent: UsageSync.Observed = {
      days: observed.days.filter((_, i) => keep[i]),
      byKey: new Map([...observed.byKey].map(([k, counts]) => [k, counts.filter((_, i) => keep[i])])),
      pages: observed.pages
    }
    let unitsReported = 0
    let done = 0
    const failures: Array<{ customerId: Ids.CustomerId; reason: string }> = []
    for (const id of customerIds) {
      const current = yield* repo.get(id)
      if (Option.isNone(current)) continue
      const result = yield* Effect.either(UsageSync.syncCustomer(current.value, recent))
      if (result._tag === "Left") {
        failures.push({ customerId: id, reason: `${result.left._tag}: ${result.left.message}` })
      } else {
        unitsReported += result.right.unitsReported
        done++
      }
    }
    return { customers: done, unitsReported, failures }
  })

/**
 * The days to reconcile: `--to` (default today) and `--from` (default 6 days before it), at most 90
 * days, or what is wrong with them.
 *
 * @since 0.2.0
 * @category utils
 */
export const range = (
  from: Option.Option<UtcDay.UtcDay>,
  to: Option.Option<UtcDay.UtcDay>,
  today: UtcDay.UtcDay
): Either.Either<{ readonly from: UtcDay.UtcDay; readonly to: UtcDay.UtcDay }, string> => {
  const last = Option.getOrElse(to, () => today)
  const first = Option.getOrElse(from, () => UtcDay.add(last, -6))
  const span = UtcDay.between(first, last).length
  if (span === 0) return Either.left(`--from ${first} is after --to ${last}`)
  if (span > 90) return Either.left(`at most 90 days at once (${first}..${last} is ${span})`)
  return Either.right({ from: first, to: last })
}

/**
 * A `CliError` when drift was found or customers could not be fixed, so the command exits 1 after
 * printing the report (a scheduled check alerts on it); none when every customer-day agrees.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (report: Report) =>
  report.fixed !== null && report.fixed.failures.length > 0
    ? Effect.fail(new CliError({ message: `${report.fixed.failures.length} customers could not be fixed` }))
    : report.rows.length > 0 || report.flaggedOutside.length > 0
    ? Effect.fail(
      new CliError({
        message: `${report.rows.length + report.flaggedOutside.length} customer-days drift${
          report.fixed === null ? "" : " (before the fix)"
        }`
      })
    )
    : Effect.void

/** The report as text. @since 0.1.0 @category utils */
export const format = (r: Report): string => {
  const head = `reconciled ${r.customers} customers over ${r.from}..${r.to}: ${
    r.rows.length === 0 ? "no drift" : `${r.rows.length} customer-days drift`
  }`
  const rows = r.rows.length === 0 ? [] : [
    table(
      ["customer", "key", "day", "api-gateway", "ledger", "stripe", "drift"],
      r.rows.map((x) => [
        x.customerId,
        x.apiKeyId,
        x.day,
        String(x.apiGateway),
        String(x.ledger),
        String(x.stripe),
        x.drift.join(",")
      ])
    )
  ]
  const outside = r.flaggedOutside.length === 0 ? [] : [
    `${r.flaggedOutside.length} customer-days flagged by meter error reports are outside the range (reconcile them with --from ${
      r.flaggedOutside.map((f) => f.day).sort()[0]
    }): ${r.flaggedOutside.map((f) => `${f.customerId} ${f.day}`).join(", ")}`
  ]
  const fixed = r.fixed === null ? [] : [
    `fixed: ${r.fixed.unitsReported} units reported for ${r.fixed.customers} customers${
      r.fixed.failures.length === 0 ? "" : `, ${r.fixed.failures.length} failed`
    }${r.fixed.flagsCleared === 0 ? "" : `, ${r.fixed.flagsCleared} meter-error flags cleared`}`,
    ...r.fixed.failures.map((f) => `  ${f.customerId}: ${f.reason}`)
  ]
  return [head, ...rows, ...outside, ...fixed].join("\n")
}

/** The services reconciliation needs. @since 0.1.0 @category models */
export type Requirements =
  | BillingConfig.BillingConfig
  | CustomerRepo.CustomerRepo
  | Stripe.Stripe
  | UsageSource.UsageSource
