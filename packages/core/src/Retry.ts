/**
 * Named retry and timeout policies, one per port. A timeout applies to each attempt, inside the
 * retry; only transient errors are retried, with capped, jittered exponential backoff, a bounded
 * number of times; a `Retry-After` from the server is honoured.
 *
 * The hot path of the hourly sync (three calls per customer) uses `retrying` without the core-side
 * timeout: `Effect.timeoutFail` forks two fibers per call (about 45 µs, 15 s per 100k customers and
 * the difference between 417 MB and 846 MB peak), while the adapters already bound every request
 * (SDK request timeouts and the fiber's abort signal) and report `Timeout`, which is retried here.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule } from "effect"
import { CustomerRepoError } from "./CustomerRepo.js"
import { PlanAdminError } from "./PlanAdmin.js"
import { StripeError } from "./Stripe.js"
import { UsageSourceError } from "./UsageSource.js"

/** A per-attempt timeout and the schedule of retries. */
export interface Policy {
  readonly timeout: Duration.Duration
  readonly schedule: Schedule.Schedule<unknown, unknown>
}

/** Whether an error says that the same call may succeed later. */
export const isTransient = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "isTransient" in error && error.isTransient === true

const retryAfter = (error: unknown): Duration.Duration | undefined =>
  typeof error === "object" && error !== null && "retryAfterMillis" in error &&
    typeof error.retryAfterMillis === "number"
    ? Duration.millis(error.retryAfterMillis)
    : undefined

/**
 * Exponential backoff from `base`, each delay capped at `cap` (`union` takes the shorter of the two
 * delays), jittered, at most `times` retries, never shorter than a server's `Retry-After`.
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
      const after = retryAfter(error)
      return after === undefined ? delay : Duration.max(delay, after)
    })
  )

/** Stripe: 10 s per attempt, 250 ms doubling to 8 s, 5 retries. */
export const stripePolicy: Policy = {
  timeout: Duration.seconds(10),
  schedule: backoff({ base: "250 millis", cap: "8 seconds", times: 5 })
}
/** API Gateway management API (about 10 requests/s per account): 10 s per attempt, 500 ms doubling to 10 s, 6 retries. */
export const apiGatewayPolicy: Policy = {
  timeout: Duration.seconds(10),
  schedule: backoff({ base: "500 millis", cap: "10 seconds", times: 6 })
}
/** DynamoDB: 5 s per attempt, 50 ms doubling to 2 s, 5 retries. */
export const repoPolicy: Policy = {
  timeout: Duration.seconds(5),
  schedule: backoff({ base: "50 millis", cap: "2 seconds", times: 5 })
}

/**
 * Retry transient failures on the policy's schedule, without a timeout of its own. The first attempt
 * runs bare; only a transient failure builds the retry machinery, and it is fed that failure first,
 * so delays and counts are those of `Effect.retry` (about 2 µs per successful call instead of 10).
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

/** Apply a policy: a timeout on each attempt (failing with `onTimeout`), transient errors retried. */
export const withPolicy = <E>(policy: Policy, onTimeout: () => E) =>
<A, E2, R>(
  self: Effect.Effect<A, E2, R>
): Effect.Effect<A, E | E2, R> => retrying(policy)(Effect.timeoutFail(self, { duration: policy.timeout, onTimeout }))

const timedOut = (port: string, policy: Policy) => `${port} call timed out after ${Duration.format(policy.timeout)}`

/** Apply `stripePolicy` to a Stripe call. */
export const stripe: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StripeError, R> = withPolicy(
  stripePolicy,
  () => new StripeError({ reason: "Timeout", message: timedOut("Stripe", stripePolicy) })
)

/** Apply `apiGatewayPolicy` to a usage read. */
export const usage: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | UsageSourceError, R> = withPolicy(
  apiGatewayPolicy,
  () => new UsageSourceError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) })
)

/** Apply `apiGatewayPolicy` to a usage plan call. */
export const planAdmin: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PlanAdminError, R> = withPolicy(
  apiGatewayPolicy,
  () => new PlanAdminError({ reason: "Timeout", message: timedOut("API Gateway", apiGatewayPolicy) })
)

/** `stripePolicy`'s retries without the core-side timeout (the adapter bounds the request). */
export const stripeBulk: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = retrying(stripePolicy)

/** `repoPolicy`'s retries without the core-side timeout (the adapter bounds the request). */
export const repoBulk: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = retrying(repoPolicy)

/** Apply `repoPolicy` to a repository call. */
export const repo: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CustomerRepoError, R> = withPolicy(
  repoPolicy,
  () => new CustomerRepoError({ reason: "Timeout", message: timedOut("CustomerRepo", repoPolicy) })
)
