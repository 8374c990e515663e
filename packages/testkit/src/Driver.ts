/**
 * The driver of the in-memory Layers: set up customers, keys and usage, read what Stripe accepted,
 * inject faults (fail the next N calls of a method, before or after it took effect) and latency.
 *
 * @since 0.1.0
 */
import { Customer, CustomerRepo, type Ids, PlanAdmin, Stripe, UsageSource, UtcDay } from "@augint-billing/core"
import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import * as Usage from "./internal/usage.js"
import * as Invariants from "./Invariants.js"
import type { AcceptedMeterEvent, MemorySubscription, Method } from "./MemoryState.js"
import * as MemoryState from "./MemoryState.js"
import { signatureHeader } from "./StripeMemory.js"

/**
 * How a scheduled fault behaves; by default the next call fails once, before acting, with a transient error.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultOptions {
  /** How many consecutive calls fail (default 1). */
  readonly times?: number
  /** The error (default: the port's error with reason `Server`, which is transient). */
  readonly error?: unknown
  /** `before`: the call does nothing; `after`: it takes effect, then fails (default `before`). */
  readonly when?: "before" | "after"
  /** Raise the error as a defect, like a crash (default false). */
  readonly die?: boolean
  /** Let this many calls through first (default 0): `skip: 1` on `CustomerRepo.update` hits the second write. */
  readonly skip?: number
}

/** Steering and reading the in-memory state. @since 0.1.0 @category models */
export interface DriverService {
  /** The raw state, for assertions the methods below do not cover. */
  readonly state: MemoryState.State
  /** A Stripe customer, an API key in the free plan and the record linking them. */
  readonly signUp: (input: {
    readonly customerId: Ids.CustomerId
    readonly apiKeyId: Ids.ApiKeyId
    readonly paymentMethods?: number
    readonly freePlanId?: Ids.UsagePlanId
  }) => Effect.Effect<Customer.Customer>
  /** Create an API key, optionally in a plan. */
  readonly createApiKey: (apiKeyId: Ids.ApiKeyId, usagePlanId?: Ids.UsagePlanId) => Effect.Effect<void>
  /**
   * Create a usage plan, on the one default stage unless `stages` says which (a key may be in one plan
   * per stage), with a quota if given.
   */
  readonly createUsagePlan: (
    usagePlanId: Ids.UsagePlanId,
    options?: { readonly stages?: ReadonlyArray<string>; readonly quota?: MemoryState.UsageQuota }
  ) => Effect.Effect<void>
  /** Change how `GetUsage` shows the counts (reporting delay, removed and re-added keys), over the current model. */
  readonly setUsageModel: (model: Partial<MemoryState.UsageModel>) => Effect.Effect<void>
  /** Create a Stripe customer with `paymentMethods` attached (default 0). */
  readonly createStripeCustomer: (customerId: Ids.CustomerId, paymentMethods?: number) => Effect.Effect<void>
  /** Set how many payment methods a Stripe customer has. */
  readonly setPaymentMethods: (customerId: Ids.CustomerId, paymentMethods: number) => Effect.Effect<void>
  /** Mark a Stripe customer deleted. */
  readonly deleteStripeCustomer: (customerId: Ids.CustomerId) => Effect.Effect<void>
  /** Change a subscription's status the way Stripe's dunning would. */
  readonly setSubscriptionStatus: (
    subscriptionId: Ids.SubscriptionId,
    status: MemorySubscription["status"]
  ) => Effect.Effect<void>
  /** Subscriptions, optionally of one customer. */
  readonly subscriptions: (customerId?: Ids.CustomerId) => Effect.Effect<ReadonlyArray<MemorySubscription>>
  /**
   * Count `units` requests of a key on `day` (default today) in the plan it is in, or in `usagePlanId`
   * when given (a late count), made now: `GetUsage` shows them after the reporting delay. Returns false
   * when the key is in no plan, or the plan's quota is used up: API Gateway refuses the calls and does
   * not count them.
   */
  readonly addUsage: (input: {
    readonly apiKeyId: Ids.ApiKeyId
    readonly units: number
    readonly day?: UtcDay.UtcDay
    readonly usagePlanId?: Ids.UsagePlanId
  }) => Effect.Effect<boolean>
  /** Requests counted for a key in a plan on a day (whether `GetUsage` shows them yet or not). */
  readonly usage: (input: {
    readonly usagePlanId: Ids.UsagePlanId
    readonly apiKeyId: Ids.ApiKeyId
    readonly day: UtcDay.UtcDay
  }) => Effect.Effect<number>
  /** The plans a key is in. */
  readonly plansOf: (apiKeyId: Ids.ApiKeyId) => Effect.Effect<ReadonlyArray<Ids.UsagePlanId>>
  /** Meter events Stripe accepted, optionally of one customer. */
  readonly meterEvents: (customerId?: Ids.CustomerId) => Effect.Effect<ReadonlyArray<AcceptedMeterEvent>>
  /** Units Stripe accepted for a customer with a timestamp inside `day`. */
  readonly billed: (
    input: { readonly customerId: Ids.CustomerId; readonly day: UtcDay.UtcDay }
  ) => Effect.Effect<number>
  /** The stored record of a customer. */
  readonly record: (customerId: Ids.CustomerId) => Effect.Effect<Option.Option<Customer.Customer>>
  /** Fail the next call(s) of `method`. Faults of one method queue up in order. */
  readonly failNext: (method: Method, options?: FaultOptions) => Effect.Effect<void>
  /** Add latency to every call of `method` (undefined removes it). */
  readonly setLatency: (method: Method, latency: Duration.DurationInput | undefined) => Effect.Effect<void>
  /** Remove every scheduled fault and all latency. */
  readonly clearFaults: Effect.Effect<void>
  /** Calls made per method since the last reset. */
  readonly calls: Effect.Effect<Readonly<Partial<Record<Method, number>>>>
  /** Reset the call counters. */
  readonly resetCalls: Effect.Effect<void>
  /** Make an event available to `Stripe.listEvents`. */
  readonly pushEvent: (json: unknown) => Effect.Effect<void>
  /** A `Stripe-Signature` header for `payload`, signed with the in-memory webhook secret (default now). */
  readonly signWebhook: (payload: string, timestamp?: number) => Effect.Effect<string>
}

/** The driver service. @since 0.1.0 @category models */
export class Driver extends Context.Tag("@augint-billing/testkit/Driver")<Driver, DriverService>() {}

const defaultError = (method: Method): unknown => {
  const message = `injected fault in ${method}`
  switch (method.split(".")[0]) {
    case "Stripe":
      return new Stripe.StripeError({ reason: "Server", message })
    case "UsageSource":
      return new UsageSource.UsageSourceError({ reason: "Server", message })
    case "CustomerRepo":
      return new CustomerRepo.CustomerRepoError({ reason: "Server", message })
    default:
      return new PlanAdmin.PlanAdminError({ reason: "Server", message })
  }
}

/** Build the driver over shared state. @since 0.1.0 @category constructors */
export const make: Effect.Effect<DriverService, never, MemoryState.MemoryState> = Effect.map(
  MemoryState.MemoryState,
  (state): DriverService => {
    const createApiKey = (apiKeyId: Ids.ApiKeyId, usagePlanId?: Ids.UsagePlanId) =>
      Effect.sync(() => {
        state.apiKeys.add(apiKeyId)
        if (usagePlanId !== undefined) state.membership.set(apiKeyId, new Set([usagePlanId]))
      })
    const createStripeCustomer = (customerId: Ids.CustomerId, paymentMethods = 0) =>
      Effect.sync(() =>
        void state.stripeCustomers.set(customerId, { id: customerId, deleted: false, paymentMethods, metadata: {} })
      )
    return {
      state,
      signUp: ({ apiKeyId, customerId, freePlanId, paymentMethods }) =>
        Effect.gen(function*() {
          yield* createStripeCustomer(customerId, paymentMethods ?? 0)
          yield* createApiKey(apiKeyId, freePlanId ?? ("FREE_10K" as Ids.UsagePlanId))
          const now = yield* Clock.currentTimeMillis
          const record = Customer.make({ customerId, apiKeyId, now })
          state.records.set(customerId, record)
          state.byApiKey.set(apiKeyId, customerId)
          return record
        }),
      createApiKey,
      createUsagePlan: (id, options = {}) =>
        Effect.sync(() => {
          state.usagePlans.add(id)
          if (options.stages !== undefined) state.planStages.set(id, new Set(options.stages))
          if (options.quota !== undefined) state.quotas.set(id, options.quota)
        }),
      setUsageModel: (model) => Effect.sync(() => void (state.usageModel = { ...state.usageModel, ...model })),
      createStripeCustomer,
      setPaymentMethods: (customerId, n) =>
        Effect.sync(() => {
          const c = state.stripeCustomers.get(customerId)
          if (c !== undefined) c.paymentMethods = n
        }),
      deleteStripeCustomer: (customerId) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const c = state.stripeCustomers.get(customerId)
          if (c !== undefined) c.deleted = true
          for (const s of state.subscriptions.values()) {
            if (s.customerId === customerId && s.status !== "canceled") {
              s.status = "canceled"
              s.canceledAt = now
            }
          }
        }),
      setSubscriptionStatus: (id, status) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const s = state.subscriptions.get(id)
          if (s === undefined) return
          if (status === "canceled" && s.status !== "canceled") s.canceledAt = now
          s.status = status
        }),
      subscriptions: (customerId) =>
        Effect.sync(() =>
          Array.from(state.subscriptions.values()).filter((s) =>
            customerId === undefined || s.customerId === customerId
          )
            .map((s) => ({ ...s }))
        ),
      addUsage: ({ apiKeyId, day, units, usagePlanId }) =>
        Effect.gen(function*() {
          const plan = usagePlanId ?? Array.from(state.membership.get(apiKeyId) ?? [])[0]
          if (plan === undefined || units <= 0) return plan !== undefined
          const now = yield* Clock.currentTimeMillis
          return Usage.count(state, { plan, key: apiKeyId, day: day ?? UtcDay.fromMillis(now), units, now }) > 0
        }),
      usage: ({ apiKeyId, day, usagePlanId }) =>
        Effect.sync(() => state.usage.get(usagePlanId)?.get(apiKeyId)?.get(day) ?? 0),
      plansOf: (apiKeyId) => Effect.sync(() => Array.from(state.membership.get(apiKeyId) ?? [])),
      meterEvents: (customerId) =>
        Effect.sync(() => state.meterEvents.filter((e) => customerId === undefined || e.customerId === customerId)),
      billed: ({ customerId, day }) => Effect.sync(() => Invariants.billed(state, customerId, day)),
      record: (customerId) => Effect.sync(() => Option.fromNullable(state.records.get(customerId))),
      failNext: (method, options = {}) =>
        Effect.sync(() => {
          const queue = state.faults.get(method) ?? []
          queue.push({
            when: options.when ?? "before",
            error: options.error ?? defaultError(method),
            die: options.die ?? false,
            skip: options.skip ?? 0,
            remaining: options.times ?? 1
          })
          state.faults.set(method, queue)
        }),
      setLatency: (method, latency) =>
        Effect.sync(() => {
          if (latency === undefined) state.latency.delete(method)
          else state.latency.set(method, Duration.toMillis(Duration.decode(latency)))
        }),
      clearFaults: Effect.sync(() => {
        state.faults.clear()
        state.latency.clear()
      }),
      calls: Effect.sync(() => Object.fromEntries(state.calls) as Partial<Record<Method, number>>),
      resetCalls: Effect.sync(() => state.calls.clear()),
      pushEvent: (json) =>
        Effect.sync(() => {
          const created = typeof json === "object" && json !== null && "created" in json &&
              typeof json.created === "number"
            ? json.created
            : 0
          state.events.push({ created, json })
        }),
      signWebhook: (payload, timestamp) =>
        Effect.gen(function*() {
          const t = timestamp ?? Math.floor((yield* Clock.currentTimeMillis) / 1000)
          return yield* signatureHeader(state.webhookSecret, t, payload)
        })
    }
  }
)

/** The driver over the shared `MemoryState`. @since 0.1.0 @category layers */
export const layer: Layer.Layer<Driver, never, MemoryState.MemoryState> = Layer.effect(Driver, make)
