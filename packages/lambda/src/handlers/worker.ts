/**
 * Bundle entry of the fanned-out sync's worker (the work queue's event source mapping): the runtime
 * is built, and the configuration validated, at container init; every invocation reuses it.
 *
 * @since 0.3.0
 */
import * as EventBridgeAlertSink from "@augint-billing/adapters-aws/EventBridgeAlertSink"
import * as CustomerSettings from "@augint-billing/core/CustomerSettings"
import * as SpendAlerts from "@augint-billing/core/SpendAlerts"
import * as Layer from "effect/Layer"
import * as Emf from "../Emf.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as SyncWorker from "../SyncWorker.js"

const runtime = await LambdaRuntime.make(
  "worker",
  // Spend alerts, as in the single-process schedule: each customer's sync raises them after its report.
  SpendAlerts.layer.pipe(
    Layer.provide(EventBridgeAlertSink.layerConfig),
    Layer.provideMerge(
      Layer.mergeAll(LambdaRuntime.layerSchedule, Emf.layerConfig("worker"), CustomerSettings.layerConfig)
    )
  )
)

/** The Lambda handler (`index.handler`). @since 0.3.0 @category utils */
export const handler = SyncWorker.toHandler(runtime)
