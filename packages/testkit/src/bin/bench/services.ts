/**
 * The real services as the latency benchmark models them: each port call of the in-memory Layers is
 * delayed by a latency drawn from its service's distribution (under `VirtualTime`) and checked
 * against the service's published rate limit, counted across every worker of the run; a call over
 * the limit is refused the way the service refuses it (429 / `TooManyRequestsException` /
 * `ThrottlingException`), so the flows' own retry policies handle it.
 *
 * @since 0.3.0
 */
import { CustomerRepo, type Ids, PlanAdmin, Stripe, UsageSource } from "@augint-billing/core"
import { Context, Effect, Layer, Stream } from "effect"
import * as Driver from "../../Driver.js"
import * as Memory from "../../Memory.js"
import { type Latency, RateMeter, rng, sample, SlidingWindow, TokenBucket, type VirtualTime } from "./virtual.js"

/** The services the bench models. @since 0.3.0 @category models */
export type ServiceName =
  | "apiGateway"
  | "stripeMeterEvents"
  | "stripeMeterStream"
  | "stripeApi"
  | "dynamoRead"
  | "dynamoWrite"
  | "sqs"

/** A modelled service: latency, published limit (calls a second) and where the figures come from. @since 0.3.0 @category models */
export interface ServiceSpec {
  readonly label: string
  readonly latency: Latency
  /** Calls a second the service accepts (undefined: none published that this load could reach). */
  readonly limit?: number
  readonly burst?: number
  readonly source: string
}

/**
 * The figures. Latencies are triangular (right-skewed, as network latencies are): the ranges
 * with the mode near the low end. Limits are the published defaults for a live account.
 *
 * @since 0.3.0
 * @category constants
 */
export const SERVICES: Record<ServiceName, ServiceSpec> = {
  apiGateway: {
    label: "API Gateway management API (GetUsage, GetUsagePlanKeys, ...)",
    latency: { min: 100, mode: 150, max: 300 },
    limit: 10,
    burst: 40,
    source: "docs.aws.amazon.com/apigateway/latest/developerguide/limits.html: total management operations " +
      "10 requests/s per account, burst 40 (token bucket), shared by every caller"
  },
  stripeMeterEvents: {
    label: "Stripe v1 meter events (POST /v1/billing/meter_events)",
    latency: { min: 100, mode: 150, max: 300 },
    limit: 1000,
    source: "docs.stripe.com/rate-limits: the meter events endpoint has its own live-mode limit of 1,000 " +
      "calls/s per account, not counted against the basic limit"
  },
  stripeMeterStream: {
    label: "Stripe v2 meter event stream (100 events a request)",
    latency: { min: 100, mode: 150, max: 300 },
    limit: 10_000,
    source: "API reference (docs.stripe.com/api/v2/billing/meter-event-stream/create): up to 10,000 " +
      "requests/s in live mode, 100 events a request; the 2024-09-30.acacia changelog says 10k events/s " +
      "instead: the fan-out's peak (34 requests/s, 3,400 events/s) is under either reading"
  },
  stripeApi: {
    label: "Stripe API, other calls (summaries, subscriptions, customers)",
    latency: { min: 100, mode: 150, max: 300 },
    limit: 100,
    source: "docs.stripe.com/rate-limits: live mode 100 read and 100 write operations/s (one limiter " +
      "modelled, the stricter reading)"
  },
  dynamoRead: {
    label: "DynamoDB reads (GetItem; BatchGetItem of up to 100 keys; Scan pages of 1,000 records)",
    latency: { min: 5, mode: 7, max: 15 },
    limit: 40_000,
    source: "docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html: on-demand table " +
      "40,000 read request units/s (per-table default); single-digit ms latency"
  },
  dynamoWrite: {
    label: "DynamoDB writes (conditional PutItem/UpdateItem)",
    latency: { min: 5, mode: 7, max: 15 },
    limit: 40_000,
    source: "same page: 40,000 write request units/s per on-demand table"
  },
  sqs: {
    label: "SQS (SendMessageBatch of 10; ReceiveMessage by the event source mapping)",
    latency: { min: 10, mode: 15, max: 40 },
    source: "standard queues: nearly unlimited API calls/s (docs.aws.amazon.com/AWSSimpleQueueService/" +
      "latest/SQSDeveloperGuide/quotas-messages.html)"
  }
}

/** Counters of one modelled service over a run. @since 0.3.0 @category models */
export interface ServiceStats {
  readonly attempts: RateMeter
  readonly accepted: RateMeter
  throttled: number
}

/** The model of a whole run: clock, limiters and counters, shared by every worker. @since 0.3.0 @category models */
export interface ServiceModel {
  readonly time: VirtualTime
  readonly stats: Record<ServiceName, ServiceStats>
  /** Delay `effect` by a latency of `service`, refusing it with `throttled` when over the limit. */
  readonly call: <A, E, R>(
    service: ServiceName,
    effect: Effect.Effect<A, E, R>,
    throttled: () => E
  ) => Effect.Effect<A, E, R>
  /** A latency of `service`, without limits: for calls the bench itself makes (SQS). */
  readonly delay: (service: ServiceName) => Effect.Effect<void>
}

/** A fresh model on `time`, latencies drawn from `seed`. @since 0.3.0 @category constructors */
export const makeModel = (time: VirtualTime, seed = 1): ServiceModel => {
  const random = rng(seed)
  const names = Object.keys(SERVICES) as Array<ServiceName>
  const stats = Object.fromEntries(
    names.map((n) => [n, { attempts: new RateMeter(), accepted: new RateMeter(), throttled: 0 }])
  ) as Record<ServiceName, ServiceStats>
  const limiters = Object.fromEntries(names.map((n) => {
    const spec = SERVICES[n]
    if (spec.limit === undefined) return [n, undefined]
    return [n, spec.burst === undefined ? new SlidingWindow(spec.limit) : new TokenBucket(spec.limit, spec.burst)]
  })) as Record<ServiceName, { tryTake: (now: number) => boolean } | undefined>
  const delay = (service: ServiceName) => Effect.sleep(sample(SERVICES[service].latency, random()))
  return {
    time,
    stats,
    delay,
    call: (service, effect, throttled) =>
      Effect.suspend(() => {
        const now = time.millis()
        const s = stats[service]
        s.attempts.add(now)
        const limiter = limiters[service]
        if (limiter !== undefined && !limiter.tryTake(now)) {
          s.throttled++
          return Effect.zipRight(delay(service), Effect.fail(throttled()))
        }
        s.accepted.add(now)
        return Effect.zipRight(delay(service), effect)
      })
  }
}

const stripeThrottled = () =>
  new Stripe.StripeError({ reason: "RateLimited", message: "429 Too Many Requests (modelled)" })
const usageThrottled = () =>
  new UsageSource.UsageSourceError({ reason: "Throttled", message: "TooManyRequestsException (modelled)" })
const adminThrottled = () =>
  new PlanAdmin.PlanAdminError({ reason: "Throttled", message: "TooManyRequestsException (modelled)" })
const repoThrottled = () =>
  new CustomerRepo.CustomerRepoError({ reason: "Throttled", message: "ThrottlingException (modelled)" })

// Every method of `service` wrapped by `wrap(name, result)`.
const mapMethods = <S extends object>(service: S, wrap: (name: string, result: unknown) => unknown): S =>
  Object.fromEntries(
    Object.entries(service).map(([name, f]) => [
      name,
      typeof f === "function"
        ? (...args: Array<unknown>) => wrap(name, (f as (...a: Array<unknown>) => unknown)(...args))
        : f
    ])
  ) as S

const repoReads = new Set(["get", "findByApiKey", "isProcessed"])

/**
 * The BatchGetItem requests a `getMany` of `ids` sends: one per 100 distinct ids ("If you request more
 * than 100 items, BatchGetItem returns a ValidationException",
 * docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html), none for none.
 *
 * @since 0.4.0
 * @category utils
 */
export const batchGetRequests = (ids: ReadonlyArray<unknown>): number => Math.ceil(new Set(ids).size / 100)

/**
 * The in-memory Layers with every port call going through `model`. `PlanAdmin.keysPage` pages a
 * snapshot of the plan's keys taken at the first page (the in-memory one sorts every key per page,
 * which at a million keys is the bench's own cost, not the flow's).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (model: ServiceModel) =>
  Layer.effectContext(Effect.gen(function*() {
    const ctx = yield* Effect.context<
      Stripe.Stripe | UsageSource.UsageSource | CustomerRepo.CustomerRepo | PlanAdmin.PlanAdmin | Driver.Driver
    >()
    const driver = Context.get(ctx, Driver.Driver)
    const stripe = mapMethods(Context.get(ctx, Stripe.Stripe), (name, result) => {
      const effect = result as Effect.Effect<unknown, Stripe.StripeError>
      if (name === "reportUsage") return model.call("stripeMeterEvents", effect, stripeThrottled)
      if (name === "reportUsageBatch") return model.call("stripeMeterStream", effect, stripeThrottled)
      return model.call("stripeApi", effect, stripeThrottled)
    })
    const usage = mapMethods(
      Context.get(ctx, UsageSource.UsageSource),
      (_, result) =>
        model.call("apiGateway", result as Effect.Effect<unknown, UsageSource.UsageSourceError>, usageThrottled)
    )
    let snapshot: Map<Ids.UsagePlanId, ReadonlyArray<Ids.ApiKeyId>> = new Map()
    const admin = Context.get(ctx, PlanAdmin.PlanAdmin)
    const plans = mapMethods(admin, (_, result) =>
      model.call("apiGateway", result as Effect.Effect<unknown, PlanAdmin.PlanAdminError>, adminThrottled))
    const keysPage: PlanAdmin.PlanAdmin["Type"]["keysPage"] = ({ position, usagePlanId }) =>
      model.call(
        "apiGateway",
        Effect.sync(() => {
          if (position === undefined || !snapshot.has(usagePlanId)) {
            const keys: Array<Ids.ApiKeyId> = []
            for (const [key, inPlans] of driver.state.membership) {
              if (inPlans.has(usagePlanId)) {
                keys.push(key)
              }
            }
            snapshot = new Map([[usagePlanId, keys.sort()]])
          }
          const keys = snapshot.get(usagePlanId)!
          const offset = position === undefined ? 0 : Number(position)
          const end = offset + PlanAdmin.MAX_KEYS_PAGE_SIZE
          return { keys: keys.slice(offset, end), ...(end < keys.length ? { position: String(end) } : {}) }
        }),
        adminThrottled
      )
    const memoryRepo = Context.get(ctx, CustomerRepo.CustomerRepo)
    const repo = mapMethods(memoryRepo, (name, result) => {
      if (!Effect.isEffect(result)) {
        // A Scan: one request a page of 1,000 records (DynamoDB returns up to 1 MB a page).
        return Stream.mapChunksEffect(
          Stream.rechunk(result as Stream.Stream<unknown, CustomerRepo.CustomerRepoError>, 1000),
          (chunk) =>
            model.call("dynamoRead", Effect.succeed(chunk), repoThrottled)
        )
      }
      const effect = result as Effect.Effect<unknown, CustomerRepo.CustomerRepoError>
      return model.call(repoReads.has(name) ? "dynamoRead" : "dynamoWrite", effect, repoThrottled)
    })
    // The adapter's requests of 100 keys, in turn: each one DynamoDB latency, counted as one read call
    // (the read limit is in units, a consistent item each; at this load it never binds either way).
    const getMany: CustomerRepo.CustomerRepoService["getMany"] = (ids) => {
      let effect = memoryRepo.getMany(ids)
      for (let i = 0; i < batchGetRequests(ids); i++) effect = model.call("dynamoRead", effect, repoThrottled)
      return effect
    }
    return ctx.pipe(
      Context.add(Stripe.Stripe, stripe),
      Context.add(UsageSource.UsageSource, usage),
      Context.add(PlanAdmin.PlanAdmin, { ...plans, keysPage }),
      Context.add(CustomerRepo.CustomerRepo, { ...repo, getMany })
    )
  })).pipe(Layer.provide(Memory.layerMemory()))
