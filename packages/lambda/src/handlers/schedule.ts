/**
 * Bundle entry of the schedule function: the runtime is built (and the configuration validated) at
 * container init, then every invocation reuses it.
 *
 * @since 0.1.0
 */
import * as SyncLayer from "../internal/syncLayer.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as Schedule from "../Schedule.js"

const runtime = await LambdaRuntime.make("schedule", SyncLayer.layer("schedule"))

/** The Lambda handler (`index.handler`). @since 0.1.0 @category utils */
export const handler = Schedule.toHandler(runtime)
