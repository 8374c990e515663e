/**
 * The functions' metrics, as Effect `Metric` counters, and a small reporter that writes what changed
 * since the last flush as CloudWatch Embedded Metric Format (one JSON line per dimension set on
 * standard output, which CloudWatch Logs turns into metrics). The names, units and dimensions here
 * are those the template's alarms and dashboard read (checked by Template.test.ts).
 *
 * @since 0.2.0
 */
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Schema from "effect/Schema"
import { type Sink, stdout, withTraceId } from "./LambdaRuntime.js"

/** The function a container runs: the value of the `Function` dimension of every metric. @since 0.2.0 @category models */
export type FunctionName = "webhook" | "schedule" | "coordinator" | "worker"

/** Each metric's CloudWatch unit, by name; the reporter writes only these. @since 0.2.0 @category models */
export const units = {
  UnitsReported: "Count",
  CustomersReported: "Count",
  CustomersFailed: "Count",
  CustomersSeen: "Count",
  MeterEventsSent: "Count",
  SyncDuration: "Milliseconds",
  SyncSucceeded: "Count",
  SyncFailed: "Count",
  SyncCutShort: "Count",
  SyncStoppedEarly: "Count",
  CustomersLeft: "Count",
  PlansRepaired: "Count",
  /** Customers whose key's GetUsage history vanished (`SyncReport.customersHistoryVanished`): usage not billed. */
  UsageHistoryVanished: "Count",
  /** Customers whose key's usage counter restarted on its re-add (`SyncReport.customersCounterReset`): usage not billed. */
  UsageCounterReset: "Count",
  /** Units counted for customers deleted in Stripe, written off without a meter event (`SyncReport.unitsUnbillable`). */
  UnitsUnbillable: "Count",
  WebhookDeliveries: "Count",
  MeterErrorReports: "Count",
  WorkItemsEnqueued: "Count",
  CustomersEnqueued: "Count",
  CoordinatorFailed: "Count",
  /** Coordinator runs that enqueued their work: the fan-out's heartbeat. */
  CoordinatorSucceeded: "Count",
  /** Work items a worker synced with no customer failed. */
  WorkItemsSynced: "Count",
  /** Work items a worker handed back for redelivery (undecodable, a customer failed, records unreachable). */
  WorkItemsFailed: "Count",
  /** Units the workers reported to Stripe. */
  WorkUnitsReported: "Count",
  /** Units the workers wrote off: their customer was deleted in Stripe. */
  WorkUnitsUnbillable: "Count",
  /** Meter events the workers sent (v2 stream or v1). */
  WorkMeterEventsSent: "Count",
  /** Keys the workers moved to the plan their record says. */
  WorkPlansRepaired: "Count",
  /** Customers whose key's GetUsage history vanished (`UsageHistoryVanished`, fanned out). */
  WorkUsageHistoryVanished: "Count",
  /** Customers whose key's counter restarted when put back (`UsageCounterReset`, fanned out). */
  WorkUsageCounterReset: "Count"
} as const

/** A metric's name. @since 0.2.0 @category models */
export type MetricName = keyof typeof units

/** A counter of `name` (whole numbers; CloudWatch sums them). @since 0.2.0 @category constructors */
export const counter = (name: MetricName): Metric.Metric.Counter<number> => Metric.counter(name, { incremental: true })

/** Where metric documents go and under which namespace. @since 0.2.0 @category models */
export interface Settings {
  /** The CloudWatch namespace (`METRICS_NAMESPACE`, default `AugintBilling`). */
  readonly namespace: string
  /** The line writer; documents must be whole JSON lines on standard output. */
  readonly sink: Sink
}

/** The namespace used when none is configured. @since 0.2.0 @category constructors */
export const defaultNamespace = "AugintBilling"

/** One EMF document: `values` under `dimensions` (the `Function` dimension first). @since 0.2.0 @category utils */
export const document = (
  namespace: string,
  timestamp: number,
  dimensions: Readonly<Record<string, string>>,
  values: Readonly<Partial<Record<MetricName, number>>>
): Record<string, unknown> => ({
  _aws: {
    Timestamp: timestamp,
    CloudWatchMetrics: [{
      Namespace: namespace,
      Dimensions: [Object.keys(dimensions)],
      Metrics: (Object.keys(values) as Array<MetricName>).map((name) => ({ Name: name, Unit: units[name] }))
    }]
  },
  ...dimensions,
  ...values
})

/** The reporter of one container. @since 0.2.0 @category models */
export interface Reporter {
  /** Write the increments since the last flush (or since the reporter was built). */
  readonly flush: Effect.Effect<void>
}

/** The reporter service. @since 0.2.0 @category services */
export class Emf extends Context.Tag("@augint-billing/lambda/Emf")<Emf, Reporter>() {}

/** The metrics the webhook writes; the schedule those of no other function. @since 0.2.0 @category models */
export const webhookMetrics: ReadonlySet<MetricName> = new Set(["WebhookDeliveries", "MeterErrorReports"])

/** The metrics the fan-out's coordinator writes. @since 0.3.0 @category models */
export const coordinatorMetrics: ReadonlySet<MetricName> = new Set([
  "WorkItemsEnqueued",
  "CustomersEnqueued",
  "CoordinatorFailed",
  "CoordinatorSucceeded"
])

/** The metrics the fan-out's workers write. @since 0.4.0 @category models */
export const workerMetrics: ReadonlySet<MetricName> = new Set([
  "WorkItemsSynced",
  "WorkItemsFailed",
  "WorkUnitsReported",
  "WorkUnitsUnbillable",
  "WorkMeterEventsSent",
  "WorkPlansRepaired",
  "WorkUsageHistoryVanished",
  "WorkUsageCounterReset"
])

const ownerOf = (name: MetricName): FunctionName =>
  webhookMetrics.has(name)
    ? "webhook"
    : coordinatorMetrics.has(name)
    ? "coordinator"
    : workerMetrics.has(name)
    ? "worker"
    : "schedule"

// Counters are process-wide: a reporter writes only its own function's (tests run all in one process).
const isOurs = (fn: FunctionName) => (pair: MetricPair.MetricPair.Untyped): boolean =>
  Object.hasOwn(units, pair.metricKey.name) &&
  ownerOf(pair.metricKey.name as MetricName) === fn &&
  MetricState.isCounterState(pair.metricState)

const countOf = (pair: MetricPair.MetricPair.Untyped): number =>
  MetricState.isCounterState(pair.metricState) ? Number(pair.metricState.count) : 0

const keyOf = (pair: MetricPair.MetricPair.Untyped): string =>
  `${pair.metricKey.name}|${pair.metricKey.tags.map((t) => `${t.key}=${t.value}`).sort().join(",")}`

/**
 * The reporter for function `fn`: counters are cumulative and process-wide, so each flush writes the
 * difference from the previous one (the first from the values seen when the reporter was built).
 * The schedule's and coordinator's counters are written every time (zeros included), the webhook's when they moved.
 * @since 0.2.0 @category constructors
 */
export const make = (fn: FunctionName, settings: Partial<Settings> = {}): Effect.Effect<Reporter> =>
  Effect.gen(function*() {
    const namespace = settings.namespace ?? defaultNamespace
    const sink = settings.sink ?? stdout
    const last = new Map<string, number>()
    // Registered now, the schedule's counters are written by every flush, zeros included, so that an
    // hourly series has no gaps; the webhook's (one line per delivery) only when they moved.
    if (fn !== "webhook") {
      yield* Effect.forEach(
        (Object.keys(units) as Array<MetricName>).filter((name) => ownerOf(name) === fn),
        (name) => Metric.incrementBy(counter(name), 0),
        { discard: true }
      )
    }
    const read = Effect.map(Metric.snapshot, (pairs) => pairs.filter(isOurs(fn)))
    for (const pair of yield* read) last.set(keyOf(pair), countOf(pair))
    const flush = Effect.gen(function*() {
      const groups = new Map<string, { dimensions: Record<string, string>; values: Record<string, number> }>()
      for (const pair of yield* read) {
        const key = keyOf(pair)
        const count = countOf(pair)
        const delta = count - (last.get(key) ?? 0)
        last.set(key, count)
        if (delta === 0 && fn === "webhook") continue
        const tags = [...pair.metricKey.tags].sort((a, b) => a.key.localeCompare(b.key))
        const group = key.slice(key.indexOf("|"))
        const entry = groups.get(group) ??
          { dimensions: { Function: fn, ...Object.fromEntries(tags.map((t) => [t.key, t.value])) }, values: {} }
        entry.values[pair.metricKey.name] = delta
        groups.set(group, entry)
      }
      const now = yield* Clock.currentTimeMillis
      for (const { dimensions, values } of groups.values()) {
        sink(withTraceId(JSON.stringify(document(namespace, now, dimensions, values))))
      }
    })
    return { flush }
  })

/** The reporter of `fn` with explicit settings. @since 0.2.0 @category layers */
export const layer = (fn: FunctionName, settings: Partial<Settings> = {}): Layer.Layer<Emf> =>
  Layer.effect(Emf, make(fn, settings))

/** Invalid metrics settings; the message names the variable. @since 0.2.0 @category errors */
export class EmfConfigError extends Schema.TaggedError<EmfConfigError>()("EmfConfigError", {
  message: Schema.String
}) {}

/** The reporter of `fn` writing to standard output under `METRICS_NAMESPACE`. @since 0.2.0 @category layers */
export const layerConfig = (fn: FunctionName): Layer.Layer<Emf, EmfConfigError> =>
  Layer.unwrapEffect(
    Config.string("METRICS_NAMESPACE").pipe(
      Config.validate({
        message: "must be 1-255 characters without ':'",
        validation: (s) => s.length > 0 && s.length <= 255 && !s.includes(":")
      }),
      Config.withDefault(defaultNamespace),
      Effect.mapError((e) =>
        new EmfConfigError({ message: `invalid configuration: ${BillingConfig.describeConfigError(e)}` })
      ),
      Effect.map((namespace) => layer(fn, { namespace }))
    )
  )

/** Run `self`, then write the metrics it changed, whatever its exit. @since 0.2.0 @category utils */
export const flushing = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Emf> =>
  Effect.ensuring(self, Effect.flatMap(Emf, (emf) => emf.flush))
