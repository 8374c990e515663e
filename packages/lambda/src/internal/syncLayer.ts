/**
 * The services of a function that syncs usage (the single-process schedule and the fan-out's worker):
 * the flows' ports, the function's metrics, customer settings, and spend alerts on EventBridge, which
 * each customer's sync raises after its report. Only those two bundles import it, so the webhook's
 * bundle carries no EventBridge client.
 *
 * @internal
 */
import * as EventBridgeAlertSink from "@augint-billing/adapters-aws/EventBridgeAlertSink"
import * as CustomerSettings from "@augint-billing/core/CustomerSettings"
import * as SpendAlerts from "@augint-billing/core/SpendAlerts"
import * as Layer from "effect/Layer"
import * as Emf from "../Emf.js"
import * as LambdaRuntime from "../LambdaRuntime.js"

/** The layer of the sync function `name`. */
export const layer = (name: "schedule" | "worker") =>
  SpendAlerts.layer.pipe(
    Layer.provide(EventBridgeAlertSink.layerConfig),
    Layer.provideMerge(
      Layer.mergeAll(LambdaRuntime.layerSchedule, Emf.layerConfig(name), CustomerSettings.layerConfig)
    )
  )
