/**
 * The `AlertSink` port on Amazon EventBridge: each spend alert is one event on the seller's bus
 * (`source` `augint-billing`, `detail-type` `Spend Threshold Crossed`, the alert as `detail`), for
 * rules that route it to email, Slack or the seller's app. EventBridge does not dedupe: an alert
 * resent after a crash carries the same `detail.id`, which consumers dedupe on.
 *
 * @since 0.2.0
 */
import { SpendAlerts } from "@augint-billing/core"
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge"
import { Array as Arr, Config, Effect, Layer, Schema } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import { clientConfig, send } from "./internal/sdk.js"

/** The events' `source`. @since 0.2.0 @category constants */
export const SOURCE = "augint-billing"

/** The events' `detail-type`. @since 0.2.0 @category constants */
export const DETAIL_TYPE = "Spend Threshold Crossed"

/** PutEvents takes at most this many entries a call. @since 0.2.0 @category constants */
export const MAX_ENTRIES = 10

/** Where alerts go. @since 0.2.0 @category models */
export interface Options {
  /** The event bus name or ARN (`ALERT_EVENT_BUS`, default `default`). */
  readonly eventBusName: string
  readonly client?: AwsConfig.ClientOptions
}

const reasonOf = (kind: string): SpendAlerts.AlertSinkError["reason"] =>
  kind === "Throttled" ? "Throttled" : kind === "Transport" ? "Transport" : kind === "Server" ? "Server" : "Invalid"

/** The sink over a client. @since 0.2.0 @category constructors */
export const make = (client: EventBridgeClient, eventBusName: string): SpendAlerts.AlertSinkService => ({
  emit: (alerts) =>
    Effect.forEach(Arr.chunksOf(alerts, MAX_ENTRIES), (chunk) =>
      Effect.gen(function*() {
        const entries = chunk.map((alert) => ({
          EventBusName: eventBusName,
          Source: SOURCE,
          DetailType: DETAIL_TYPE,
          Detail: JSON.stringify(Schema.encodeSync(SpendAlerts.SpendAlert)(alert))
        }))
        const out = yield* send(
          (abortSignal) => client.send(new PutEventsCommand({ Entries: entries }), { abortSignal }),
          (failure, cause) =>
            new SpendAlerts.AlertSinkError({
              reason: reasonOf(failure.kind),
              message: `PutEvents: ${failure.message}`,
              cause
            })
        )
        // PutEvents answers 200 with per-entry failures: the whole call is retried (same alert ids).
        if ((out.FailedEntryCount ?? 0) > 0) {
          const codes = (out.Entries ?? []).flatMap((e) => e.ErrorCode === undefined ? [] : [e.ErrorCode])
          return yield* new SpendAlerts.AlertSinkError({
            reason: "Server",
            message: `PutEvents: ${out.FailedEntryCount} of ${entries.length} entries failed (${codes.join(", ")})`
          })
        }
      }), { discard: true }).pipe(
        Effect.withSpan("EventBridgeAlertSink.emit", { attributes: { alerts: alerts.length } })
      )
})

/** The sink with its own scoped client. @since 0.2.0 @category layers */
export const layer = (options: Options): Layer.Layer<SpendAlerts.AlertSink> =>
  Layer.scoped(
    SpendAlerts.AlertSink,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new EventBridgeClient(clientConfig(options.client))),
        (c) => Effect.sync(() => c.destroy())
      ),
      (client) => make(client, options.eventBusName)
    )
  )

/** `ALERT_EVENT_BUS` (default `default`) and the EventBridge client settings. @since 0.2.0 @category config */
export const config: Config.Config<Options> = Config.all({
  eventBusName: Config.string("ALERT_EVENT_BUS").pipe(Config.withDefault("default")),
  client: AwsConfig.clientOptions("EVENTBRIDGE")
})

/** The sink from the environment. @since 0.2.0 @category layers */
export const layerConfig: Layer.Layer<SpendAlerts.AlertSink, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(AwsConfig.load(config), layer)
)
