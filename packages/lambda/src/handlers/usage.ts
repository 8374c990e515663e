/**
 * Bundle entry of the usage endpoint: the runtime and its answer cache are built (and the
 * configuration validated) at container init, then every invocation reuses them.
 *
 * @since 0.2.0
 */
import * as CustomerSettings from "@augint-billing/core/CustomerSettings"
import * as Layer from "effect/Layer"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as UsageApi from "../UsageApi.js"

// The schedule's ports (no webhook secret) and the customer-facing settings; kept out of
// LambdaRuntime so the other bundles do not carry CustomerSettings.
const runtime = await LambdaRuntime.make(
  "usage",
  UsageApi.layerCache.pipe(Layer.provide(Layer.merge(LambdaRuntime.layerSchedule, CustomerSettings.layerConfig)))
)

/** The Lambda handler (`index.handler`). @since 0.2.0 @category utils */
export const handler = UsageApi.toHandler(runtime)
