/**
 * Bundle entry of the usage endpoint: the runtime and its answer cache are built (and the
 * configuration validated) at container init, then every invocation reuses them.
 *
 * @since 0.2.0
 */
import * as Layer from "effect/Layer"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as UsageApi from "../UsageApi.js"

const runtime = await LambdaRuntime.make("usage", UsageApi.layerCache.pipe(Layer.provide(LambdaRuntime.layerUsage)))

/** The Lambda handler (`index.handler`). @since 0.2.0 @category utils */
export const handler = UsageApi.toHandler(runtime)
