/**
 * Bundle entry of the webhook function: the runtime is built (and the configuration validated) at
 * container init, then every invocation reuses it.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import * as Emf from "../Emf.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as Webhook from "../Webhook.js"

const runtime = await LambdaRuntime.make(
  "webhook",
  Layer.mergeAll(LambdaRuntime.layerWebhook, Webhook.layerLimitsConfig, Emf.layerConfig("webhook"))
)

/** The Lambda handler (`index.handler`). @since 0.1.0 @category utils */
export const handler = Webhook.toHandler(runtime)
