/**
 * An in-memory `AlertSink`: the alerts it received, in order, and failures to inject.
 *
 * @since 0.2.0
 */
import { SpendAlerts } from "@augint-billing/core"
import { Context, Effect, Layer } from "effect"

/** What the sink received, and how many next calls fail. @since 0.2.0 @category models */
export interface Log {
  readonly alerts: Array<SpendAlerts.SpendAlert>
  /** The next this many `emit` calls fail (transiently) without sending anything. */
  failNext: number
}

/** The sink's log. @since 0.2.0 @category services */
export class AlertLog extends Context.Tag("@augint-billing/testkit/AlertLog")<AlertLog, Log>() {}

/** An `AlertSink` over a log. @since 0.2.0 @category constructors */
export const make = (log: Log): SpendAlerts.AlertSinkService => ({
  emit: (alerts) =>
    // A yield first: overlapping syncs interleave here as they would around a network call.
    Effect.zipRight(
      Effect.yieldNow(),
      Effect.suspend(() => {
        if (log.failNext > 0) {
          log.failNext--
          return Effect.fail(new SpendAlerts.AlertSinkError({ reason: "Server", message: "injected failure" }))
        }
        log.alerts.push(...alerts)
        return Effect.void
      })
    )
})

/** `AlertSink` and its `AlertLog` on a fresh log. @since 0.2.0 @category layers */
export const layerMemory: Layer.Layer<SpendAlerts.AlertSink | AlertLog> = Layer.effectContext(
  Effect.sync(() => {
    const log: Log = { alerts: [], failNext: 0 }
    return Context.make(AlertLog, log).pipe(Context.add(SpendAlerts.AlertSink, make(log)))
  })
)
