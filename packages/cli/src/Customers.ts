/**
 * Customer links as the operator sees them: list, show, link and unlink, with the rule that decides
 * whether a link may be removed.
 *
 * @since 0.2.0
 */
import { Customer, type Ids, Link, UsageSync } from "@augint-billing/core"
import { Chunk, Clock, Effect, Option, Schema, Stream } from "effect"
import { CliMode } from "./Environment.js"
import * as Ports from "./internal/ports.js"
import * as Local from "./Local.js"
import { table } from "./Output.js"
import { CliError } from "./Shell.js"

/**
 * A customer as `customers show` prints it: the record and its key's usage plans (null when unknown).
 *
 * @since 0.1.0
 * @category models
 */
export const CustomerView = Schema.Struct({
  customer: Customer.Customer,
  plans: Schema.NullOr(Schema.Array(Schema.String))
})
/**
 * A customer as `customers show` prints it.
 *
 * @since 0.1.0
 * @category models
 */
export type CustomerView = typeof CustomerView.Type

/**
 * The record of `customerId`, or a `CliError` saying how to link one.
 *
 * @since 0.2.0
 * @category flows
 */
export const get = (customerId: Ids.CustomerId) =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    const found = yield* repo.get(customerId)
    if (Option.isNone(found)) {
      return yield* new CliError({ message: `no customer ${customerId} (link one: ai-billing customers link ...)` })
    }
    return found.value
  })

/**
 * Every record (on `plan` only, when given), sorted by customer id.
 *
 * @since 0.2.0
 * @category flows
 */
export const list = (plan: Option.Option<Customer.Plan>) =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    const all = Chunk.toReadonlyArray(yield* Stream.runCollect(repo.list()))
    return all.filter((c) => Option.isNone(plan) || c.plan === plan.value)
      .sort((a, b) => a.customerId.localeCompare(b.customerId))
  })

/**
 * The records as a table.
 *
 * @since 0.2.0
 * @category utils
 */
export const formatList = (cs: ReadonlyArray<Customer.Customer>): string =>
  cs.length === 0 ? "no customers" : table(
    ["customer", "api key", "plan", "subscription", "pending", "updated"],
    cs.map((c) => [
      c.customerId,
      c.apiKeyId,
      c.plan,
      c.subscriptionId ?? "-",
      c.pending === undefined ? "-" : `${c.pending.day} +${c.pending.value}`,
      new Date(c.updatedAt).toISOString()
    ])
  )

/**
 * One record and its key's usage plans (null, with a warning, when they cannot be read).
 *
 * @since 0.2.0
 * @category flows
 */
export const show = (customerId: Ids.CustomerId) =>
  Effect.gen(function*() {
    const record = yield* get(customerId)
    const admin = yield* Ports.planAdmin
    const plans = yield* admin.plansOf(record.apiKeyId).pipe(
      Effect.map((ps): ReadonlyArray<string> | null => ps),
      Effect.catchAll((e) => Effect.logWarning(`cannot read the key's usage plans: ${e.message}`).pipe(Effect.as(null)))
    )
    const view: CustomerView = { customer: record, plans }
    return view
  })

/**
 * The view as text, one field a line.
 *
 * @since 0.2.0
 * @category utils
 */
export const formatView = (v: CustomerView): string => {
  const c = v.customer
  const ledger = Object.entries(c.ledger).sort(([a], [b]) => a.localeCompare(b))
  return [
    `customer        ${c.customerId}`,
    `api key         ${c.apiKeyId}`,
    `plan            ${c.plan}`,
    `subscription    ${c.subscriptionId ?? "-"}`,
    `pending report  ${
      c.pending === undefined ? "-" : `${c.pending.day} +${c.pending.value} (${c.pending.identifier})`
    }`,
    `payment failed  ${c.paymentFailedAt === undefined ? "-" : new Date(c.paymentFailedAt * 1000).toISOString()}`,
    `settle until    ${c.settleUntil === undefined ? "-" : new Date(c.settleUntil).toISOString()}`,
    `version         ${c.version}`,
    `ledger          ${ledger.length === 0 ? "-" : ledger.map(([d, u]) => `${d}: ${u}`).join(", ")}`,
    `usage plans     ${v.plans === null ? "unknown" : v.plans.join(", ") || "none"}`
  ].join("\n")
}

/**
 * Link a Stripe customer to an API key (core `Link.link`): a new record, the key in the free plan, and a
 * promotion at once when the customer already has a card Stripe would charge (in local mode the Stripe
 * customer and the key in the free plan are created too).
 *
 * @since 0.2.0
 * @category flows
 */
export const link = (input: { readonly customerId: Ids.CustomerId; readonly apiKeyId: Ids.ApiKeyId }) =>
  Effect.gen(function*() {
    const mode = yield* CliMode
    if (mode._tag === "Local") yield* Local.ensureAccount(mode.local.state, input)
    const linked = yield* Link.link(input).pipe(
      Effect.catchTag("VersionConflict", (e) => new CliError({ message: `not linked: ${e.message}` }))
    )
    return linked.customer
  })

/** @deprecated Use `Customer.unlinkBlockers` (core). @since 0.2.0 @category utils */
export const unlinkBlockers = Customer.unlinkBlockers

/**
 * What to do about what `unlinkBlockers` found.
 *
 * @since 0.2.0
 * @category utils
 */
export const unlinkRefusal = (c: Customer.Customer, reasons: ReadonlyArray<string>): string =>
  `not unlinked: ${c.customerId}: ${reasons.join("; ")}. ${
    c.plan === "METERED" ? `Demote it first (ai-billing plan demote ${c.customerId}), then` : "Then"
  } unlink once the sync has closed its settle window (the hourly sync does; --close runs that close now, once the window has ended)`

/**
 * Remove a customer's link when `unlinkBlockers` finds nothing; with `close`, first run the sync for
 * this customer, which reports its last usage and closes a settle window that has ended.
 *
 * @since 0.2.0
 * @category flows
 */
export const unlink = (customerId: Ids.CustomerId, options: { readonly close: boolean }) =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    if (options.close) {
      const report = yield* UsageSync.syncUsage({ customerIds: [customerId] })
      if (report.customersFailed > 0) {
        const reason = report.failures[0]?.reason ?? "unknown"
        return yield* new CliError({ message: `not unlinked: the close of ${customerId} failed: ${reason}` })
      }
    }
    const record = yield* get(customerId)
    const reasons = unlinkBlockers(record, yield* Clock.currentTimeMillis)
    if (reasons.length > 0) return yield* new CliError({ message: unlinkRefusal(record, reasons) })
    yield* repo.remove(record).pipe(
      Effect.catchTag("VersionConflict", (e) =>
        new CliError({ message: `not unlinked, the record changed: ${e.message}` }))
    )
    return record
  })
