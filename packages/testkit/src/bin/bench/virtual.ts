/**
 * A virtual clock and scheduler for the latency benchmark: every `Effect.sleep` (a modelled call's
 * latency, a retry's backoff, a timeout) parks its fiber on a timer heap, and the driver jumps the
 * clock to the next timer only when no fiber can run. A million customers' hour of simulated calls
 * then costs only the CPU the flows themselves spend. Also the service limits the bench enforces:
 * token buckets (API Gateway), sliding one-second windows (Stripe), and per-second rate meters.
 *
 * @since 0.3.0
 */
import { Clock, Duration, Effect, type Exit, type Fiber, Scheduler } from "effect"
import { prng } from "../../internal/prng.js"

interface Timer {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

// A binary min-heap of timers by (at, seq): timers due at the same instant wake in the order they were set.
class TimerHeap {
  private readonly items: Array<Timer> = []
  get size(): number {
    return this.items.length
  }
  push(t: Timer): void {
    const a = this.items
    a.push(t)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }
  pop(): Timer | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}
const before = (x: Timer, y: Timer) => x.at < y.at || (x.at === y.at && x.seq < y.seq)

/**
 * A clock whose time moves only when the driver says so, and a scheduler whose tasks run only when
 * the driver drains them: together a discrete-event simulation of any Effect program.
 *
 * @since 0.3.0
 * @category models
 */
export class VirtualTime {
  private now: number
  private seq = 0
  private readonly timers = new TimerHeap()
  private tasks: Array<Scheduler.Task> = []

  constructor(startMillis: number) {
    this.now = startMillis
  }

  /** The simulated time (epoch millis). */
  millis(): number {
    return this.now
  }

  /** The scheduler fibers of a virtual run are started on. */
  readonly scheduler: Scheduler.Scheduler = Scheduler.make(
    (task) => void this.tasks.push(task),
    Scheduler.defaultShouldYield
  )

  /** The `Clock` service of a virtual run. */
  readonly clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => this.now,
    unsafeCurrentTimeNanos: () => BigInt(Math.round(this.now * 1_000_000)),
    currentTimeMillis: Effect.sync(() => this.now),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(this.now * 1_000_000))),
    sleep: (duration: Duration.Duration) =>
      Effect.async<void>((resume) => {
        const timer: Timer = {
          at: this.now + Math.max(0, Duration.toMillis(duration)),
          seq: this.seq++,
          wake: () => resume(Effect.void),
          cancelled: false
        }
        this.timers.push(timer)
        return Effect.sync(() => {
          timer.cancelled = true
        })
      })
  }

  private drain(): void {
    while (this.tasks.length > 0) {
      const batch = this.tasks
      this.tasks = []
      for (const task of batch) task()
    }
  }

  /**
   * Run `effect` to its end in simulated time: run every runnable fiber, then move the clock to the
   * next timer and wake it, until the effect's fiber is done. Synchronous: nothing else runs meanwhile.
   */
  run<A, E>(effect: Effect.Effect<A, E>): Exit.Exit<A, E> {
    let exit: Exit.Exit<A, E> | undefined
    const fiber: Fiber.RuntimeFiber<A, E> = Effect.runFork(Effect.withClock(effect, this.clock), {
      scheduler: this.scheduler
    })
    fiber.addObserver((e) => {
      exit = e
    })
    for (;;) {
      this.drain()
      if (exit !== undefined) return exit
      const next = this.timers.pop()
      if (next === undefined) throw new Error("virtual run deadlocked: no runnable fiber and no timer")
      if (next.cancelled) continue
      if (next.at > this.now) this.now = next.at
      next.wake()
    }
  }
}

/**
 * A token bucket (API Gateway's throttle: docs.aws.amazon.com/apigateway/latest/developerguide/limits.html):
 * `burst` tokens, refilled at `rate` a second; a call without a token is refused.
 *
 * @since 0.3.0
 * @category models
 */
export class TokenBucket {
  private tokens: number
  private at: number | undefined
  constructor(readonly rate: number, readonly burst: number) {
    this.tokens = burst
  }
  /** Take a token at `now` (epoch millis); false when none is left. */
  tryTake(now: number): boolean {
    if (this.at !== undefined) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/**
 * At most `limit` calls accepted in any one-second window (Stripe publishes its limits as requests per
 * second and no burst): a ring of the last `limit` acceptance times.
 *
 * @since 0.3.0
 * @category models
 */
export class SlidingWindow {
  private readonly ring: Float64Array
  private next = 0
  constructor(readonly limit: number) {
    this.ring = new Float64Array(limit).fill(Number.NEGATIVE_INFINITY)
  }
  /** Accept a call at `now` (epoch millis) when fewer than `limit` were accepted in the second before it. */
  tryTake(now: number): boolean {
    // The oldest of the last `limit` acceptances must be a full second old.
    if (now - this.ring[this.next]! < 1000) return false
    this.ring[this.next] = now
    this.next = (this.next + 1) % this.limit
    return true
  }
}

/**
 * Calls counted per second of simulated time, to report the peak against a limit.
 *
 * @since 0.3.0
 * @category models
 */
export class RateMeter {
  private second = Number.NaN
  private inSecond = 0
  /** The most calls seen in one calendar second. */
  peak = 0
  total = 0
  /** Count `n` calls at `now` (epoch millis; calls arrive in time order under the virtual clock). */
  add(now: number, n = 1): void {
    const s = Math.floor(now / 1000)
    if (s !== this.second) {
      this.second = s
      this.inSecond = 0
    }
    this.inSecond += n
    this.total += n
    if (this.inSecond > this.peak) this.peak = this.inSecond
  }
}

/**
 * A seeded pseudo-random source (mulberry32): the same seed gives the same simulated run.
 *
 * @since 0.3.0
 * @category constructors
 */
export const rng: (seed: number) => () => number = prng

/** A latency distribution: triangular from `min` to `max`, most likely at `mode` (milliseconds). @since 0.3.0 @category models */
export interface Latency {
  readonly min: number
  readonly mode: number
  readonly max: number
}

/** The mean of a triangular latency. @since 0.3.0 @category utils */
export const meanOf = (l: Latency): number => (l.min + l.mode + l.max) / 3

/**
 * A sample of `latency` from a uniform `u` in [0, 1) (inverse of the triangular distribution function).
 *
 * @since 0.3.0
 * @category utils
 */
export const sample = (latency: Latency, u: number): number => {
  const { max, min, mode } = latency
  const split = (mode - min) / (max - min)
  return u < split
    ? min + Math.sqrt(u * (max - min) * (mode - min))
    : max - Math.sqrt((1 - u) * (max - min) * (max - mode))
}
