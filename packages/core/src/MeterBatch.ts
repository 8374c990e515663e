/**
 * Meter events gathered into Stripe's v2 meter event stream: a `Stripe` service whose `reportUsage`
 * waits a short window for the other reports made beside it and sends them together with
 * `reportUsageBatch` (up to `Stripe.MAX_STREAM_BATCH` a request). The flows do not change: each
 * customer's sync still calls `reportUsage` once per written-ahead report and commits on its answer.
 *
 * A fan-out worker syncs a work item's customers at once, so their reports arrive within milliseconds
 * of each other: gathered, they cost one stream request per hundred (10,000 requests/s live) instead of
 * one v1 call each (1,000 calls/s live, the bound of the whole fan-out without it). A gathering of
 * fewer than `Stripe.MIN_STREAM_BATCH` goes back to its callers, each of which sends its own v1 event,
 * so a small run keeps v1's answers. Identifiers are the same on both paths: Stripe's dedupe, and so
 * exactly-once, holds across them.
 *
 * What the stream changes (docs.stripe.com/api/v2/billing-meter-stream): Stripe answers before it
 * validates, so an event it rejects later (a customer deleted in Stripe, for one) is committed as
 * billed here and comes back as a meter error report, which `MeterErrors` flags for `reconcile`; on
 * v1 the same event is refused at once and written off as unbillable. A stream request that fails for
 * a while (rate limit, network, a 5xx) fails every report of the gathering with its error, and each
 * caller's retry policy sends it again; one refused for good (an event Stripe will not take) sends
 * each report alone through v1, so only the refused one fails.
 *
 * @since 0.4.0
 */
import { Cause, Deferred, Duration, Effect, Exit, Option, Queue, type Scope } from "effect"
import * as Stripe from "./Stripe.js"

/** A report waiting for its gathering: the answer, or none when the caller is to send it alone. */
interface Waiting {
  readonly event: Stripe.MeterEvent
  readonly answer: Deferred.Deferred<Option.Option<Stripe.MeterEventResult>, Stripe.StripeError>
}

/** How a gathering is made. @since 0.4.0 @category models */
export interface Options {
  /** How long the first report of a gathering waits for others; zero: only those already waiting. */
  readonly window: Duration.DurationInput
  /** Gatherings smaller than this go back to v1, one call a report (default `Stripe.MIN_STREAM_BATCH`). */
  readonly minBatch?: number | undefined
}

/**
 * `stripe` with `reportUsage` gathered; every other method is `stripe`'s own. The gathering fiber lives
 * in the scope (a `FanOut.work` closes it after its customers): a report still waiting when it closes
 * is not sent, and its caller is interrupted.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make = (
  stripe: Stripe.StripeService,
  options: Options
): Effect.Effect<Stripe.StripeService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const minBatch = options.minBatch ?? Stripe.MIN_STREAM_BATCH
    // A report still waiting when the scope closes is never sent: its caller is interrupted, not left
    // waiting for good.
    const stop = (gathered: Iterable<Waiting>) =>
      Effect.forEach(gathered, (w) => Deferred.interrupt(w.answer), { discard: true })
    const waiting = yield* Effect.acquireRelease(
      Queue.unbounded<Waiting>(),
      (queue) => Effect.flatMap(Queue.takeAll(queue), stop).pipe(Effect.zipRight(Queue.shutdown(queue)))
    )

    // Each caller sends its own report through v1 and gets its own answer.
    const alone = (gathered: ReadonlyArray<Waiting>) =>
      Effect.forEach(gathered, (w) => Deferred.succeed(w.answer, Option.none()), { discard: true })
    const answer = (w: Waiting, result: Stripe.MeterEventResult | undefined) =>
      result === undefined
        ? Deferred.die(w.answer, new Error("reportUsageBatch answered fewer results than it was given events"))
        : Deferred.succeed(w.answer, Option.some(result))

    const send = (gathered: ReadonlyArray<Waiting>) =>
      gathered.length < minBatch ?
        alone(gathered) :
        Effect.exit(stripe.reportUsageBatch(gathered.map((w) => w.event))).pipe(
          Effect.flatMap((exit) =>
            Exit.isSuccess(exit)
              ? Effect.forEach(gathered, (w, i) => answer(w, exit.value[i]), { discard: true })
              : Option.match(Cause.failureOption(exit.cause), {
                // A refusal that is not for a while (one event's shape, say) must not fail the others:
                // each sends its own through v1, and only the refused one fails.
                onSome: (error) =>
                  error.isTransient
                    ? Effect.forEach(gathered, (w) => Deferred.fail(w.answer, error), { discard: true })
                    : Effect.logWarning("the meter event stream refused a request; its reports go through v1")
                      .pipe(
                        Effect.annotateLogs({ reason: error.reason, message: error.message, events: gathered.length }),
                        Effect.zipRight(alone(gathered))
                      ),
                onNone: () =>
                  Effect.forEach(gathered, (w) => Deferred.failCause(w.answer, exit.cause), { discard: true })
              })
          )
        )

    // A zero window gathers the reports already waiting (and is clock-free, for tests on a TestClock).
    const pause = Duration.isZero(Duration.decode(options.window)) ? Effect.yieldNow() : Effect.sleep(options.window)
    // Interrupted only while it waits: reports it took are either handed to a send or stopped.
    const gather = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const first = yield* restore(Queue.take(waiting))
        const paused = yield* Effect.exit(restore(pause))
        const gathered = [first, ...yield* Queue.takeUpTo(waiting, Stripe.MAX_STREAM_BATCH - 1)]
        if (Exit.isFailure(paused)) return yield* Effect.zipRight(stop(gathered), Effect.interrupt)
        // Sent beside the next gathering, so a slow request does not hold the reports behind it.
        yield* Effect.fork(restore(send(gathered)).pipe(Effect.onInterrupt(() => stop(gathered))))
      })
    )
    yield* Effect.forkScoped(Effect.forever(gather))

    const reportUsage: Stripe.StripeService["reportUsage"] = (event) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<Option.Option<Stripe.MeterEventResult>, Stripe.StripeError>()
        yield* Queue.offer(waiting, { event, answer })
        const gathered = yield* Deferred.await(answer)
        return Option.isSome(gathered) ? gathered.value : yield* stripe.reportUsage(event)
      })
    return { ...stripe, reportUsage }
  })
