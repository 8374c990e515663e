/**
 * Bundle entry of the schedule function: the runtime is built (and the configuration validated) at
 * container init, then every invocation reuses it.
 *
 * @since 0.1.0
 */
import * as EventBridgeAlertSink from "@augint-billing/adapters-aws/EventBridgeAlertSink"
import * as CustomerSettings from "@augint-billing/core/CustomerSettings"
import * as SpendAlerts from "@augint-billing/core/SpendAlerts"
import * as Layer from "effect/Layer"
import * as Emf from "../Emf.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as Schedule from "../Schedule.js"

const runtime = await LambdaRuntime.make(
  "schedule",
  // Spend alerts: the sync runs them after each customer's report, on EventBridge.
  SpendAlerts.layer.pipe(
    Layer.provide(EventBridgeAlertSink.layerConfig),
    Layer.provideMerge(
      Layer.mergeAll(LambdaRuntime.layerSchedule, Emf.layerConfig("schedule"), CustomerSettings.layerConfig)
    )
  )
)

/** The Lambda handler (`index.handler`). @since 0.1.0 @category utils */
export const handler = Schedule.toHandler(runtime)
