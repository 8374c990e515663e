/**
 * Stripe events as the CLI handles them: from a file (`handle-event`, mirrored into the local Stripe
 * first in local mode) or made up for a manual plan change (`plan promote|demote`), always through
 * core's `handleEvent` so the same dedupe and staleness guarantees hold.
 *
 * @since 0.2.0
 */
import { HandleEvent, type Ids, StripeEvent } from "@augint-billing/core"
import { Clock, Effect, Schema } from "effect"
import { CliMode } from "./Environment.js"
import * as Local from "./Local.js"

/**
 * What `handle-event` and `plan` print.
 *
 * @since 0.1.0
 * @category models
 */
export const EventResult = Schema.Struct({
  eventId: Schema.String,
  type: Schema.String,
  dryRun: Schema.Boolean,
  outcome: Schema.Literal("Ignored", "Duplicate", "UnknownCustomer", "Stale", "Applied", "MeterErrorReport"),
  customerId: Schema.NullOr(Schema.String),
  decision: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String)
})
/**
 * What `handle-event` and `plan` print.
 *
 * @since 0.1.0
 * @category models
 */
export type EventResult = typeof EventResult.Type

/**
 * An outcome of `handleEvent` as the CLI prints it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const toResult = (type: string, dryRun: boolean, outcome: HandleEvent.Outcome): EventResult => {
  const base = { eventId: outcome.eventId, type, dryRun, outcome: outcome._tag }
  switch (outcome._tag) {
    case "Applied":
      return {
        ...base,
        customerId: outcome.customerId,
        decision: outcome.decision._tag,
        reason: "reason" in outcome.decision
          ? outcome.decision.reason
          : "cause" in outcome.decision
          ? outcome.decision.cause
          : null
      }
    case "Stale":
      return { ...base, customerId: outcome.customerId, decision: null, reason: "older than the record's state" }
    case "UnknownCustomer":
      return { ...base, customerId: outcome.customerId ?? null, decision: null, reason: "no customer link" }
    case "Ignored":
      return { ...base, customerId: null, decision: null, reason: `type ${outcome.type} is not handled` }
    case "Duplicate":
      return { ...base, customerId: null, decision: null, reason: "processed before" }
    case "MeterErrorReport":
      return { ...base, customerId: null, decision: null, reason: `${outcome.flagged} records flagged for reconcile` }
  }
}

/**
 * The result as one line of text.
 *
 * @since 0.2.0
 * @category utils
 */
export const format = (r: EventResult): string =>
  `${r.eventId} (${r.type}): ${r.outcome}${r.decision === null ? "" : ` ${r.decision}`}${
    r.customerId === null ? "" : ` for ${r.customerId}`
  }${r.reason === null ? "" : ` (${r.reason})`}${r.dryRun ? " [dry run: nothing changed]" : ""}`

/**
 * Decode, mirror into the local Stripe (local mode, `mirror` set: what Stripe sent says what it
 * holds), then plan (dry run) or handle an event.
 *
 * @since 0.2.0
 * @category flows
 */
export const handle = (raw: unknown, options: { readonly dryRun: boolean; readonly mirror: boolean }) =>
  Effect.gen(function*() {
    const event = yield* StripeEvent.decode(raw)
    const mode = yield* CliMode
    if (options.mirror && mode._tag === "Local") Local.mirrorEvent(mode.local.state, raw)
    const type = event._tag === "Ignored" ? event.type : typeof raw === "object" && raw !== null && "type" in raw
      ? String(raw.type)
      : event._tag
    const outcome = options.dryRun ? (yield* HandleEvent.plan(raw)).outcome : yield* HandleEvent.handleEvent(raw)
    return toResult(type, options.dryRun, outcome)
  })

/**
 * A made-up event for a manual plan change: `setup_intent.succeeded` to promote (Stripe must hold a
 * usable payment method), a final `invoice.payment_failed` of the record's subscription to demote.
 *
 * @since 0.2.0
 * @category constructors
 */
export const synthetic = (
  kind: "promote" | "demote",
  customerId: Ids.CustomerId,
  subscriptionId?: string | undefined
) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const created = Math.floor(now / 1000)
    const suffix = `${now.toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`
    const id = `evt_cli_${kind}_${suffix}`
    return kind === "promote"
      ? {
        id,
        object: "event",
        type: "setup_intent.succeeded",
        created,
        data: {
          object: { id: `seti_cli_${suffix}`, object: "setup_intent", customer: customerId, status: "succeeded" }
        }
      }
      : {
        id,
        object: "event",
        type: "invoice.payment_failed",
        created,
        data: {
          object: {
            id: `in_cli_${suffix}`,
            object: "invoice",
            customer: customerId,
            attempt_count: 1,
            next_payment_attempt: null,
            // Invoice events act only for the record's subscription (API 2025-03-31 on: `parent`).
            ...(subscriptionId === undefined
              ? {}
              : { parent: { type: "subscription_details", subscription_details: { subscription: subscriptionId } } })
          }
        }
      }
  })
