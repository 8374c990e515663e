/**
 * The latency benchmark's scenarios, each one simulated run under `VirtualTime` on the modelled
 * services: the single-process sync (`UsageSync.syncUsage` with the Lambda's deadline, repeated hourly
 * until every customer is synced), and the fan-out (`FanOut.plan` by the coordinator, work items through
 * a modelled SQS queue, `FanOut.work` by N concurrent workers with the event source mapping's batch
 * size, failed items delivered again after the visibility timeout). Each ends with the exactly-once
 * check: per customer and day, units Stripe accepted = units the record committed (= units counted
 * once every customer is synced).
 *
 * @since 0.3.0
 */
import { BillingConfig, FanOut, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Schema } from "effect"
import * as Driver from "../../Driver.js"
import { layer, makeModel, type ServiceModel } from "./services.js"
import { VirtualTime } from "./virtual.js"

/** 2026-12-01T10:00:00Z: far enough from midnight that no run crosses into the next day. */
const START = Date.UTC(2026, 11, 1, 10)
const customerId = (i: number) => Ids.CustomerId.make(`cus_b${i}`)
const indexOf = (id: string) => Number(id.slice(5))
const todayUnits = (i: number) => 1 + (i * 7919) % 5000
/** One customer in ten also has late counts for yesterday: two days, two meter events. */
const yesterdayUnits = (i: number) => (i % 10 === 0 ? 1 + (i * 104729) % 3000 : 0)

/** The deployment's figures the scenarios use (packages/lambda/template.yaml). @since 0.3.0 @category constants */
export const DEPLOYMENT = {
  /** The single-process sync's Lambda timeout, less `Schedule.shutdownMargin`. */
  singleBudgetMillis: 600_000 - 10_000,
  workerTimeoutMillis: 90_000,
  coordinatorTimeoutMillis: 900_000,
  batchSize: 2,
  visibilityTimeoutMillis: 540_000,
  maxReceiveCount: 3,
  templateMaxConcurrency: 16,
  /** The worker's `SYNC_CONCURRENCY` in the template; the single process runs at the default. */
  workerSyncConcurrency: 100
} as const

/** What one scenario measured. @since 0.3.0 @category models */
export interface ScenarioResult {
  readonly scenario: string
  readonly customers: number
  readonly workers: number
  /** Simulated time from the first call to the last customer synced (or the last run's end). */
  readonly simulatedMillis: number
  readonly runs: ReadonlyArray<{
    readonly simulatedMillis: number
    readonly customersSeen: number
    readonly customersLeft: number
    readonly stoppedEarly: boolean
  }>
  readonly coordinatorMillis?: number
  readonly invocations?: number
  readonly maxInvocationMillis?: number
  readonly itemsRedelivered?: number
  readonly itemsDeadLettered?: number
  readonly customersFailed: number
  readonly services: Record<string, { calls: number; accepted: number; throttled: number; peakPerSecond: number }>
  readonly unitsCounted: number
  readonly unitsAccepted: number
  /** Meter events Stripe counted, on either path. */
  readonly eventsAccepted: number
  readonly customersSynced: number
  readonly exactlyOnce: string
  readonly cpuMillis: number
}

const seed = (driver: Driver.DriverService, customers: number, meteredPlanId: Ids.UsagePlanId) =>
  Effect.gen(function*() {
    const state = driver.state
    const today = UtcDay.fromMillis(START)
    const yesterday = UtcDay.range(today, 2)[0]!
    let units = 0
    for (let i = 0; i < customers; i++) {
      const apiKeyId = Ids.ApiKeyId.make(`key_b${i}`)
      const record = yield* driver.signUp({ customerId: customerId(i), apiKeyId, paymentMethods: 1 })
      state.records.set(record.customerId, {
        ...record,
        plan: "METERED",
        subscriptionId: Ids.SubscriptionId.make(`sub_b${i}`),
        version: record.version + 1
      })
      state.membership.set(apiKeyId, new Set([meteredPlanId]))
      yield* driver.addUsage({ apiKeyId, units: todayUnits(i) })
      if (yesterdayUnits(i) > 0) yield* driver.addUsage({ apiKeyId, units: yesterdayUnits(i), day: yesterday })
      units += todayUnits(i) + yesterdayUnits(i)
    }
    return units
  })

/**
 * Exactly-once, per customer and day: units Stripe accepted = units the ledger committed, nothing
 * left pending; with `complete`, also = units counted. Returns the first violation, if any.
 */
const verify = (driver: Driver.DriverService, customers: number, complete: boolean) => {
  const today = UtcDay.fromMillis(START)
  const yesterday = UtcDay.range(today, 2)[0]!
  const acceptedToday = new Float64Array(customers)
  const acceptedYesterday = new Float64Array(customers)
  let unitsAccepted = 0
  for (const e of driver.state.meterEvents) {
    const i = indexOf(e.customerId)
    const day = UtcDay.fromMillis(e.timestamp * 1000)
    if (day === today) acceptedToday[i]! += e.value
    else if (day === yesterday) acceptedYesterday[i]! += e.value
    else return { unitsAccepted, synced: 0, problem: `${e.customerId}: an event stamped ${day}` }
    unitsAccepted += e.value
  }
  let synced = 0
  for (let i = 0; i < customers; i++) {
    const record = driver.state.records.get(customerId(i))!
    const days: Array<[UtcDay.UtcDay, number, number]> = [
      [today, acceptedToday[i]!, todayUnits(i)],
      [yesterday, acceptedYesterday[i]!, yesterdayUnits(i)]
    ]
    if (record.pending !== undefined) return { unitsAccepted, synced, problem: `${customerId(i)}: a report pending` }
    for (const [day, accepted, counted] of days) {
      const committed = record.ledger[day] ?? 0
      if (accepted !== committed) {
        return {
          unitsAccepted,
          synced,
          problem: `${customerId(i)} ${day}: Stripe accepted ${accepted}, ledger ${committed}`
        }
      }
      if (complete && accepted !== counted) {
        return {
          unitsAccepted,
          synced,
          problem: `${customerId(i)} ${day}: Stripe accepted ${accepted}, counted ${counted}`
        }
      }
    }
    if (acceptedToday[i] === todayUnits(i) && acceptedYesterday[i] === yesterdayUnits(i)) synced++
  }
  return { unitsAccepted, synced, problem: undefined }
}

const summary = (model: ServiceModel) =>
  Object.fromEntries(
    Object.entries(model.stats).filter(([, s]) => s.attempts.total > 0).map(([name, s]) => [name, {
      calls: s.attempts.total,
      accepted: s.accepted.total,
      throttled: s.throttled,
      peakPerSecond: s.accepted.peak
    }])
  )

const item = Schema.parseJson(FanOut.WorkItem)
const encode = Schema.encodeSync(item)
const decode = Schema.decodeUnknownSync(item)

interface Message {
  readonly body: string
  receives: number
  availableAt: number
}

// The fan-out: coordinator, queue, N workers; resolves when the queue is drained.
const fanOut = (model: ServiceModel, workers: number) =>
  Effect.gen(function*() {
    const time = model.time
    const queue: Array<Message> = []
    let coordinatorDone = false
    let inFlight = 0
    const out = { coordinatorMillis: 0, invocations: 0, maxInvocationMillis: 0, redelivered: 0, dead: 0, failed: 0 }

    const coordinator = Effect.gen(function*() {
      const planned = yield* FanOut.plan()
      // SqsWorkQueue: SendMessageBatch of ten, one after the other.
      for (let b = 0; b < planned.items.length; b += 10) {
        const bodies = planned.items.slice(b, b + 10).map((i) => encode(i))
        yield* model.delay("sqs")
        for (const body of bodies) queue.push({ body, receives: 0, availableAt: time.millis() })
      }
      out.coordinatorMillis = time.millis() - planned.startedAt
      coordinatorDone = true
    })

    const take = (): Array<Message> => {
      const batch: Array<Message> = []
      const now = time.millis()
      for (let i = 0; i < queue.length && batch.length < DEPLOYMENT.batchSize; i++) {
        if (queue[i]!.availableAt <= now) batch.push(...queue.splice(i--, 1))
      }
      return batch
    }

    const workerConfig = { ...(yield* BillingConfig.BillingConfig), syncConcurrency: DEPLOYMENT.workerSyncConcurrency }
    const invoke = (batch: ReadonlyArray<Message>) =>
      Effect.gen(function*() {
        const started = time.millis()
        out.invocations++
        // SyncWorker.handle: the items one after the other; a failed one is reported for redelivery.
        for (const message of batch) {
          message.receives++
          const exit = yield* Effect.exit(
            FanOut.work(decode(message.body)).pipe(
              Effect.provideService(BillingConfig.BillingConfig, workerConfig)
            )
          )
          const failed = Exit.isFailure(exit) ? 1 : exit.value.customersFailed
          out.failed += Exit.isFailure(exit) ? 0 : exit.value.customersFailed
          if (failed > 0) {
            if (message.receives >= DEPLOYMENT.maxReceiveCount) out.dead++
            else {
              out.redelivered++
              message.availableAt = time.millis() + DEPLOYMENT.visibilityTimeoutMillis
              queue.push(message)
            }
          }
        }
        out.maxInvocationMillis = Math.max(out.maxInvocationMillis, time.millis() - started)
      })

    const worker = Effect.gen(function*() {
      for (;;) {
        const batch = take()
        if (batch.length > 0) {
          inFlight++
          yield* invoke(batch)
          inFlight--
          continue
        }
        if (coordinatorDone && queue.length === 0 && inFlight === 0) return
        // The event source mapping's long poll: the next receive after an SQS round trip.
        yield* model.delay("sqs")
      }
    })

    yield* Effect.all([coordinator, ...Array.from({ length: workers }, () => worker)], {
      concurrency: "unbounded",
      discard: true
    })
    return out
  })

/**
 * Run one scenario: `workers` 0 is the single-process sync (hourly runs until every customer is
 * synced, at most `maxRuns`), otherwise the fan-out with that many concurrent workers.
 *
 * @since 0.3.0
 * @category utils
 */
export const runScenario = (
  customers: number,
  workers: number,
  options: { readonly maxRuns?: number; readonly seed?: number } = {}
): ScenarioResult => {
  const time = new VirtualTime(START)
  const model = makeModel(time, options.seed ?? 1)
  let cpuMillis = 0
  const program = Effect.gen(function*() {
    const config = yield* BillingConfig.BillingConfig
    const driver = yield* Driver.Driver
    const unitsCounted = yield* seed(driver, customers, config.meteredPlanId)
    const cpuBefore = process.cpuUsage()
    const started = time.millis()
    const runs: Array<ScenarioResult["runs"][number]> = []
    let fan: Effect.Effect.Success<ReturnType<typeof fanOut>> | undefined
    let customersFailed = 0
    let end = started
    if (workers === 0) {
      for (let r = 0; r < (options.maxRuns ?? 5); r++) {
        // Hourly: run r starts r hours after the first.
        const runStart = started + r * 3_600_000
        if (time.millis() < runStart) yield* Effect.sleep(Duration.millis(runStart - time.millis()))
        const report = yield* UsageSync.syncUsage({ deadline: runStart + DEPLOYMENT.singleBudgetMillis })
        customersFailed += report.customersFailed
        end = report.finishedAt
        runs.push({
          simulatedMillis: report.finishedAt - report.startedAt,
          customersSeen: report.customersSeen,
          customersLeft: report.customersLeft,
          stoppedEarly: report.stoppedEarly
        })
        if (!report.stoppedEarly) break
      }
    } else {
      fan = yield* fanOut(model, workers)
      customersFailed = fan.failed
      end = time.millis()
    }
    const cpu = process.cpuUsage(cpuBefore)
    cpuMillis = (cpu.user + cpu.system) / 1000
    const complete = workers > 0 || runs[runs.length - 1]?.stoppedEarly === false
    const checked = verify(driver, customers, complete)
    return {
      scenario: workers === 0 ? "one process" : `fan-out, ${workers} workers`,
      customers,
      workers,
      simulatedMillis: end - started,
      runs,
      ...(fan === undefined ? {} : {
        coordinatorMillis: fan.coordinatorMillis,
        invocations: fan.invocations,
        maxInvocationMillis: fan.maxInvocationMillis,
        itemsRedelivered: fan.redelivered,
        itemsDeadLettered: fan.dead
      }),
      customersFailed,
      services: summary(model),
      unitsCounted,
      unitsAccepted: checked.unitsAccepted,
      eventsAccepted: driver.state.meterEvents.length,
      customersSynced: checked.synced,
      exactlyOnce: checked.problem ?? "OK",
      cpuMillis
    } satisfies Omit<ScenarioResult, "cpuMillis"> & { cpuMillis: number }
  }).pipe(
    Effect.provide(Layer.merge(layer(model), BillingConfig.layer())),
    Logger.withMinimumLogLevel(LogLevel.Error)
  )
  const exit = time.run(program)
  if (Exit.isFailure(exit)) throw new Error(`scenario failed: ${String(exit.cause)}`)
  return { ...exit.value, cpuMillis }
}
