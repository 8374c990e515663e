/**
 * What only local mode does: the local account's side of a link (the Stripe customer and the API key
 * in the free plan), usage counted by the local API Gateway, seeding, and mirroring an event into the
 * local Stripe before it is handled (a `setup_intent.succeeded` means Stripe now holds a payment
 * method; a `payment_method.detached` that it holds one less), so events behave as against an account.
 *
 * @since 0.1.0
 */
import { BillingConfig, Customer, Ids, StripeEvent, UtcDay } from "@augint-billing/core"
import type { MemoryState } from "@augint-billing/testkit"
import { Clock, Data, Effect, Schema } from "effect"
import { CliMode } from "./Environment.js"
import { CliError, UsageError } from "./Shell.js"

/** A command that needs local mode ran against an account. @since 0.1.0 @category errors */
export class LocalOnlyError extends Data.TaggedError("LocalOnlyError")<{ readonly message: string }> {}

/** The local state, or a `LocalOnlyError` naming the command. @since 0.1.0 @category flows */
export const state = (command: string): Effect.Effect<MemoryState.State, LocalOnlyError, CliMode> =>
  Effect.flatMap(CliMode, (mode) =>
    mode._tag === "Local"
      ? Effect.succeed(mode.local.state)
      : Effect.fail(
        new LocalOnlyError({
          message: `${command} works in local mode only (--local <dir>, or no AWS/Stripe variables)`
        })
      ))

/**
 * Create the local Stripe customer (if missing) and the API key in the free plan (if in no plan).
 *
 * @since 0.1.0
 * @category flows
 */
export const ensureAccount = (
  s: MemoryState.State,
  input: { readonly customerId: Ids.CustomerId; readonly apiKeyId: Ids.ApiKeyId; readonly paymentMethods?: number }
) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig.BillingConfig
    if (!s.stripeCustomers.has(input.customerId)) {
      s.stripeCustomers.set(input.customerId, {
        id: input.customerId,
        deleted: false,
        paymentMethods: input.paymentMethods ?? 0,
        metadata: {}
      })
    }
    s.apiKeys.add(input.apiKeyId)
    if ((s.membership.get(input.apiKeyId)?.size ?? 0) === 0) {
      s.membership.set(input.apiKeyId, new Set([config.freePlanId]))
    }
  })

const str = (o: unknown, key: string): string | undefined => {
  if (typeof o !== "object" || o === null) return undefined
  const v = (o as Record<string, unknown>)[key]
  return typeof v === "string" ? v : undefined
}

/**
 * Mirror what an event says about the customer's payment methods into the local Stripe, and list it.
 *
 * @since 0.1.0
 * @category flows
 */
export const mirrorEvent = (s: MemoryState.State, raw: unknown): void => {
  const type = str(raw, "type")
  const data = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>)["data"] : undefined
  const object = typeof data === "object" && data !== null ? (data as Record<string, unknown>)["object"] : undefined
  const previous = typeof data === "object" && data !== null
    ? (data as Record<string, unknown>)["previous_attributes"]
    : undefined
  const customerId = str(object, "customer") ?? str(previous, "customer")
  const customer = customerId === undefined ? undefined : s.stripeCustomers.get(customerId as Ids.CustomerId)
  if (customer !== undefined) {
    if (type === "setup_intent.succeeded" || type === "payment_method.attached") {
      customer.paymentMethods = type === "payment_method.attached"
        ? customer.paymentMethods + 1
        : Math.max(1, customer.paymentMethods)
    } else if (type === "payment_method.detached") {
      customer.paymentMethods = Math.max(0, customer.paymentMethods - 1)
    } else if (type === "customer.deleted") {
      customer.deleted = true
    }
  }
  const created =
    typeof raw === "object" && raw !== null && typeof (raw as Record<string, unknown>)["created"] === "number"
      ? (raw as Record<string, number>)["created"]!
      : 0
  const id = str(raw, "id")
  if (id !== undefined && !s.events.some((e) => str(e.json, "id") === id)) s.events.push({ created, json: raw })
}

/**
 * Count `units` requests of a key on `day` in the plan the key is in; undefined when it is in none.
 *
 * @since 0.1.0
 * @category flows
 */
export const addUsage = (
  s: MemoryState.State,
  input: { readonly apiKeyId: Ids.ApiKeyId; readonly units: number; readonly day: UtcDay.UtcDay }
) => {
  const plan = [...(s.membership.get(input.apiKeyId) ?? [])][0]
  if (plan === undefined) return undefined
  let perKey = s.usage.get(plan)
  if (perKey === undefined) s.usage.set(plan, perKey = new Map())
  let perDay = perKey.get(input.apiKeyId)
  if (perDay === undefined) perKey.set(input.apiKeyId, perDay = new Map())
  perDay.set(input.day, (perDay.get(input.day) ?? 0) + input.units)
  return plan
}

/**
 * Link `count` new customers `cus_seed<n>` / `key_seed<n>` (with a card when `withCards`), skipping existing ones.
 *
 * @since 0.1.0
 * @category flows
 */
export const seed = (s: MemoryState.State, input: { readonly count: number; readonly withCards: boolean }) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const created: Array<Ids.CustomerId> = []
    for (let n = 1; created.length < input.count && n < input.count + s.records.size + 1_000_000; n++) {
      const customerId = Ids.CustomerId.make(`cus_seed${n}`)
      const apiKeyId = Ids.ApiKeyId.make(`key_seed${n}`)
      if (s.records.has(customerId) || s.byApiKey.has(apiKeyId)) continue
      yield* ensureAccount(s, { customerId, apiKeyId, paymentMethods: input.withCards ? 1 : 0 })
      s.records.set(customerId, Customer.make({ customerId, apiKeyId, now }))
      s.byApiKey.set(apiKeyId, customerId)
      created.push(customerId)
    }
    return created
  })

/**
 * What `local usage add` counted.
 *
 * @since 0.2.0
 * @category models
 */
export const Added = Schema.Struct({
  apiKeyId: Schema.String,
  units: Schema.Int,
  day: Schema.String,
  usagePlanId: Schema.String
})
/**
 * What `local usage add` counted.
 *
 * @since 0.2.0
 * @category models
 */
export type Added = typeof Added.Type

/**
 * `local usage add`: count `units` (at least 1) requests of a key that is in a plan on `day`.
 *
 * @since 0.2.0
 * @category flows
 */
export const countUsage = (
  input: { readonly apiKeyId: Ids.ApiKeyId; readonly units: number; readonly day: UtcDay.UtcDay }
) =>
  Effect.gen(function*() {
    const s = yield* state("local usage add")
    if (input.units < 1) return yield* new UsageError({ message: `units must be at least 1, got ${input.units}` })
    const plan = addUsage(s, input)
    if (plan === undefined) {
      return yield* new CliError({
        message: `key ${input.apiKeyId} is in no usage plan: link it first (ai-billing customers link)`
      })
    }
    const added: Added = { ...input, usagePlanId: plan }
    return added
  })

/**
 * The most customers `local seed` links at once.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_SEED = 100_000

/**
 * `local seed`: link `count` (1 to `MAX_SEED`) new customers.
 *
 * @since 0.2.0
 * @category flows
 */
export const seedCustomers = (input: { readonly count: number; readonly withCards: boolean }) =>
  Effect.gen(function*() {
    const s = yield* state("local seed")
    if (input.count < 1 || input.count > MAX_SEED) {
      return yield* new UsageError({ message: `--customers must be 1-${MAX_SEED}, got ${input.count}` })
    }
    return yield* seed(s, input)
  })

/**
 * `local events add`: put an event into the local Stripe without handling it (a missed webhook).
 *
 * @since 0.2.0
 * @category flows
 */
export const addEvent = (raw: unknown) =>
  Effect.gen(function*() {
    const s = yield* state("local events add")
    const event = yield* StripeEvent.decode(raw)
    mirrorEvent(s, raw)
    return event.id
  })
