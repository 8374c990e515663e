/**
 * The hourly schedule handler: an EventBridge scheduled event runs `syncUsage`; the `SyncReport` is
 * logged as one JSON line and emitted as CloudWatch metrics in Embedded Metric Format. EventBridge
 * may deliver the same event again (and retries a failed run): that is safe, the sync is exactly-once.
 *
 * @since 0.1.0
 */
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import type * as HandleEvent from "@augint-billing/core/HandleEvent"
import * as UsageSync from "@augint-billing/core/UsageSync"
import type { EventBridgeEvent } from "aws-lambda"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { describeInit, type Sink, stdout } from "./LambdaRuntime.js"

/** An EventBridge scheduled event (the detail is not read). */
export type ScheduledEvent = EventBridgeEvent<"Scheduled Event", unknown>

/** Where metrics go and under which namespace. */
export interface MetricsSettings {
  /** The CloudWatch namespace (`METRICS_NAMESPACE`, default `AugintBilling`). */
  readonly namespace: string
  /** The line writer; metric documents must be whole JSON lines on standard output. */
  readonly sink: Sink
}

/** The metrics service. */
export class Metrics extends Context.Tag("@augint-billing/lambda/Metrics")<Metrics, MetricsSettings>() {}

/** The namespace used when none is configured. */
export const defaultNamespace = "AugintBilling"

/** Metrics with explicit settings. */
export const layerMetrics = (settings: Partial<MetricsSettings> = {}): Layer.Layer<Metrics> =>
  Layer.succeed(Metrics, { namespace: defaultNamespace, sink: stdout, ...settings })

/** Invalid metrics settings; the message names the variable. */
export class MetricsConfigError extends Schema.TaggedError<MetricsConfigError>()("MetricsConfigError", {
  message: Schema.String
}) {}

/** Metrics to standard output under `METRICS_NAMESPACE`. */
export const layerMetricsConfig: Layer.Layer<Metrics, MetricsConfigError> = Layer.effect(
  Metrics,
  Config.string("METRICS_NAMESPACE").pipe(
    Config.validate({
      message: "must be 1-255 characters without ':'",
      validation: (s) => s.length > 0 && s.length <= 255 && !s.includes(":")
    }),
    Config.withDefault(defaultNamespace),
    Effect.mapError((e) =>
      new MetricsConfigError({ message: `invalid configuration: ${BillingConfig.describeConfigError(e)}` })
    ),
    Effect.map((namespace) => ({ namespace, sink: stdout }))
  )
)

/** The metric names and units of a sync run. */
export const metricUnits = {
  UnitsReported: "Count",
  CustomersReported: "Count",
  CustomersFailed: "Count",
  CustomersSeen: "Count",
  MeterEventsSent: "Count",
  SyncDuration: "Milliseconds",
  SyncFailed: "Count"
} as const

/** A metric of a sync run. */
export type MetricName = keyof typeof metricUnits

/** One Embedded Metric Format document (one log line) with `values`, dimension `Function=schedule`. */
export const emfDocument = (
  namespace: string,
  timestamp: number,
  values: Partial<Record<MetricName, number>>
): Record<string, unknown> => {
  const names = Object.keys(values) as Array<MetricName>
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [["Function"]],
        Metrics: names.map((name) => ({ Name: name, Unit: metricUnits[name] }))
      }]
    },
    Function: "schedule",
    ...values
  }
}

/** The metrics of a finished run. */
export const reportMetrics = (report: UsageSync.SyncReport): Partial<Record<MetricName, number>> => ({
  UnitsReported: report.unitsReported,
  CustomersReported: report.customersReported,
  CustomersFailed: report.customersFailed,
  CustomersSeen: report.customersSeen,
  MeterEventsSent: report.meterEventsSent,
  SyncDuration: report.finishedAt - report.startedAt,
  SyncFailed: 0
})

const emit = (values: Partial<Record<MetricName, number>>) =>
  Effect.gen(function*() {
    const metrics = yield* Metrics
    const now = yield* Clock.currentTimeMillis
    metrics.sink(JSON.stringify(emfDocument(metrics.namespace, now, values)))
  })

/** A sync run that stopped as a whole (usage or repository unreachable); EventBridge retries it. */
export class SyncFailed extends Schema.TaggedError<SyncFailed>()("SyncFailed", {
  message: Schema.String
}) {}

/** Run the sync for one scheduled event; the report (encoded) or `SyncFailed`. */
export const handle = (
  event: ScheduledEvent
): Effect.Effect<typeof UsageSync.SyncReport.Encoded, SyncFailed, HandleEvent.Services | Metrics> =>
  Effect.gen(function*() {
    const report = yield* UsageSync.syncUsage()
    const encoded = Schema.encodeSync(UsageSync.SyncReport)(report)
    yield* Effect.logInfo("usage sync report").pipe(Effect.annotateLogs({ report: encoded }))
    yield* emit(reportMetrics(report))
    return encoded
  }).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.zipRight(
        Effect.logError("usage sync failed: EventBridge will retry").pipe(
          Effect.annotateLogs({ failure: describeInit(cause) })
        ),
        emit({ SyncFailed: 1 })
      )
    ),
    Effect.mapError((error) => new SyncFailed({ message: `${error._tag}: ${error.message}` })),
    Effect.annotateLogs({ scheduledEventId: event.id, scheduledAt: event.time }),
    Effect.withSpan("Schedule.handle")
  )

/** The Lambda handler over a runtime built once per container; a failed run throws, so it is retried. */
export const toHandler =
  <E>(runtime: ManagedRuntime.ManagedRuntime<HandleEvent.Services | Metrics, E>) =>
  async (event: ScheduledEvent): Promise<typeof UsageSync.SyncReport.Encoded> => {
    const exit = await runtime.runPromiseExit(handle(event))
    if (Exit.isSuccess(exit)) return exit.value
    throw new Error(`usage sync failed: ${describeInit(exit.cause)}`)
  }
