/**
 * Named retry and timeout policies, one per port, applied once to a port's service (`service`,
 * `layer`) the way `HttpClient.retryTransient` wraps a client. A timeout applies to each attempt,
 * inside the retry; only transient errors are retried, with capped, jittered exponential backoff, a
 * bounded number of times; a `Retry-After` from the server is honoured.
 *
 * The hourly sync's per-customer calls carry no core-side timeout (the adapters bound every request);
 * why and the measured cost: see DESIGN.md, "Retries and timeouts".
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { CustomerRepoError, type CustomerRepoService } from "./CustomerRepo.js"
import { PlanAdminError, type PlanAdminService } from "./PlanAdmin.js"
import { StripeError, type StripeService } from "./Stripe.js"
import * as Transient from "./Transient.js"
import { UsageSourceError, type UsageSourceService } from "./UsageSource.js"

/** A per-attempt timeout and the schedule of retries. @since 0.1.0 @category policies */
export interface Policy {
  readonly timeout: Duration.Duration
  readonly schedule: Schedule.Schedule<unknown, unknown>
}

/**
 * Whether an error says that the same call may succeed later (`Transient.isTransient`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const isTransient: (error: unknown) => boolean = Transient.isTransient

/**
 * Exponential backoff from `base`, each delay capped at `cap` (`union` takes the shorter of the two
 * delays), jittered, at most `times` retries, never shorter than a server's `Retry-After`.
 *
 * @since 0.1.0
 * @category policies
 */
export const backoff = (
  options: { readonly base: Duration.DurationInput; readonly cap: Duration.DurationInput; readonly times: number }
): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(options.base, 2).pipe(
    Schedule.union(Schedule.spaced(options.cap)),
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(options.times)),
    Schedule.intersect(Schedule.identity<unknown>()),
    Schedule.modifyDelay(([, error], delay) => {
      const after = Transient.retryAfterMillis(error)
      return after === undefined ? delay : Duration.max(delay, Duration.millis(after))
    })
  )

/** Stripe: 10 s per attempt, 250 ms doubling to 8 s, 5 retries. @since 0.1.0 @category policies */
export const stripePolicy: Policy = {
  timeout: Duration.seconds(10),
  schedule: backoff({ base: "250 millis", cap: "8 seconds", times: 5 })
}
/**
 * API Gateway management API (about 10 requests/s per account): 10 s per attempt, 500 ms doubling to 10 s, 6 retries.
 *
 * @since 0.1.0
 * @category policies
 */
export const apiGatewayPolicy: Policy = {
  timeout: Duration.seconds(10),
  schedule: backoff({ base: "500 millis", cap: "10 seconds", times: 6 })
}
/** DynamoDB: 5 s per attempt, 50 ms doubling to 2 s, 5 retries. @since 0.1.0 @category policies */
export const repoPolicy: Policy = {
  timeout: Duration.seconds(5),
  schedule: backoff({ base: "50 millis", cap: "2 seconds", times: 5 })
}

/**
 * Retry transient failures on the policy's schedule, without a timeout of its own. The first attempt
 * runs bare; only a transient failure builds the retry machinery, and it is fed that failure first,
 * so delays and counts are those of `Effect.retry` (about 2 µs per successful call instead of 10).
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrying = (policy: Policy) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchIf(self, isTransient, (first) => {
    let replay: E | undefined = first
    const again = Effect.suspend(() => {
      if (replay === undefined) return self
      const error = replay
      replay = undefined
      return Effect.fail(error)
    })
    return Effect.retry(again, { schedule: policy.schedule, while: isTransient })
  })

/**
 * Apply a policy: a timeout on each attempt (failing with `onTimeout`), transient errors retried.
 *
 * @since 0.1.0
 * @category policies
 */
export const withPolicy = <E>(policy: Policy, onTimeout: () => E) =>
<A, E2, R>(
  self: Effect.Effect<A, E2, R>
): Effect.Effect<A, E | E2, R> => retrying(policy)(Effect.timeoutFail(self, { duration: policy.timeout, onTimeout }))

const timedOut = (port: string, policy: Policy) => `${port} call timed out after ${Duration.format(policy.timeout)}`

/** Apply `stripePolicy` to a Stripe call. @since 0.1.0 @category combinators */
export const stripe: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StripeError, R> = withPolicy(
  stripePolicy,
  () => new StripeError({ reason: "Timeout", message: timedOut("Stripe", stripePolicy) })
)

/** Apply `apiGatewayPolicy` to a usage read. @since 0.1.0 @category combinators */
export const usage: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | UsageSourceError, R> = withPolicy(
  apiGatewayPolicy,
  () => new UsageSourceError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) })
)

/** Apply `apiGatewayPolicy` to a usage plan call. @since 0.1.0 @category combinators */
export const planAdmin: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PlanAdminError, R> = withPolicy(
  apiGatewayPolicy,
  () => new PlanAdminError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) })
)

/**
 * `stripePolicy`'s retries without the core-side timeout (the adapter bounds the request).
 *
 * @deprecated Apply `stripePort` to the service once (`service`, `layer`).
 * @since 0.1.0
 * @category combinators
 */
export const stripeBulk: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = retrying(stripePolicy)

/**
 * `repoPolicy`'s retries without the core-side timeout (the adapter bounds the request).
 *
 * @since 0.1.0
 * @category combinators
 */
export const repoBulk: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = retrying(repoPolicy)

/** Apply `repoPolicy` to a repository call. @since 0.1.0 @category combinators */
export const repo: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CustomerRepoError, R> = withPolicy(
  repoPolicy,
  () => new CustomerRepoError({ reason: "Timeout", message: timedOut("CustomerRepo", repoPolicy) })
)

/**
 * How a port's calls are retried: its policy, the error a timed-out attempt fails with, and the methods without the core-side timeout.
 *
 * @since 0.2.0
 * @category policies
 */
export interface PortPolicy<S> {
  readonly name: string
  readonly policy: Policy
  readonly onTimeout: () => unknown
  /** Methods that get the retries only: the adapter bounds the request, or the call does no I/O. */
  readonly untimed: ReadonlyArray<keyof S>
}

/**
 * Stripe: `stripePolicy` on every call; `reportUsage` (the sync's per-customer call), `reportUsageBatch`
 * (many requests, each bounded by the adapter) and `verifyWebhook` (no I/O) untimed.
 *
 * @since 0.2.0
 * @category policies
 */
export const stripePort: PortPolicy<StripeService> = {
  name: "Stripe",
  policy: stripePolicy,
  onTimeout: () => new StripeError({ reason: "Timeout", message: timedOut("Stripe", stripePolicy) }),
  untimed: ["reportUsage", "reportUsageBatch", "verifyWebhook"]
}

/** UsageSource: `apiGatewayPolicy` on every call. @since 0.2.0 @category policies */
export const usageSourcePort: PortPolicy<UsageSourceService> = {
  name: "UsageSource",
  policy: apiGatewayPolicy,
  onTimeout: () => new UsageSourceError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) }),
  untimed: []
}

/** PlanAdmin: `apiGatewayPolicy` on every call. @since 0.2.0 @category policies */
export const planAdminPort: PortPolicy<PlanAdminService> = {
  name: "PlanAdmin",
  policy: apiGatewayPolicy,
  onTimeout: () => new PlanAdminError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) }),
  untimed: []
}

/** CustomerRepo: `repoPolicy` on every call. @since 0.2.0 @category policies */
export const customerRepoPort: PortPolicy<CustomerRepoService> = {
  name: "CustomerRepo",
  policy: repoPolicy,
  onTimeout: () => new CustomerRepoError({ reason: "Timeout", message: timedOut("CustomerRepo", repoPolicy) }),
  untimed: []
}

/**
 * CustomerRepo as the sync's per-customer steps call it: reads (one or many) and writes untimed (the hot path).
 *
 * @since 0.2.0
 * @category policies
 */
export const customerRepoSyncPort: PortPolicy<CustomerRepoService> = {
  ...customerRepoPort,
  name: "CustomerRepo (sync)",
  untimed: ["get", "getMany", "update"]
}

const Wrapped = Symbol.for("@augint-billing/core/Retry/Wrapped")

interface WrappedBy {
  readonly [Wrapped]: { readonly raw: object; readonly port: PortPolicy<never> }
}

const wrappedBy = (service: object): WrappedBy[typeof Wrapped] | undefined =>
  Wrapped in service ? (service as WrappedBy)[Wrapped] : undefined

// One wrapper per service and port: the flows ask for it on every call.
const wrappers = new WeakMap<object, Map<PortPolicy<never>, object>>()

/**
 * A port's service with the port's policy applied to every method that returns an Effect (streams
 * retry their pages in the adapter). A service this wrapped already is returned as it is, and one
 * wrapped for another policy is wrapped again from the original, so no call is ever retried twice over.
 *
 * @since 0.2.0
 * @category combinators
 */
export const service = <S extends object>(port: PortPolicy<S>) => (self: S): S => {
  const seen = wrappedBy(self)
  if (seen?.port === port) return self
  const raw = (seen?.raw ?? self) as S
  let byPort = wrappers.get(raw)
  if (byPort === undefined) wrappers.set(raw, byPort = new Map())
  const cached = byPort.get(port as PortPolicy<never>)
  if (cached !== undefined) return cached as S
  const timed = withPolicy(port.policy, port.onTimeout)
  const untimed = retrying(port.policy)
  const out: Record<PropertyKey, unknown> = { [Wrapped]: { raw, port } }
  for (const [key, method] of Object.entries(raw)) {
    const apply = (port.untimed as ReadonlyArray<string>).includes(key) ? untimed : timed
    out[key] = typeof method === "function"
      ? (...args: ReadonlyArray<unknown>) => {
        const result: unknown = method.apply(raw, args)
        return Effect.isEffect(result) ? apply(result) : result
      }
      : method
  }
  byPort.set(port as PortPolicy<never>, out)
  return out as S
}

/**
 * A Layer that provides `tag`'s service with the port's policy applied (`service`), over the service it is given.
 *
 * @since 0.2.0
 * @category services
 */
export const layer = <I, S extends object>(tag: Context.Tag<I, S>, port: PortPolicy<S>): Layer.Layer<I, never, I> =>
  Layer.effect(tag, Effect.map(tag, service(port)))
