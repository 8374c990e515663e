/**
 * Bundle entry of the fanned-out sync's worker (the work queue's event source mapping): the runtime
 * is built, and the configuration validated, at container init; every invocation reuses it.
 *
 * @since 0.3.0
 */
import * as SyncLayer from "../internal/syncLayer.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as SyncWorker from "../SyncWorker.js"

const runtime = await LambdaRuntime.make("worker", SyncLayer.layer("worker"))

/** The Lambda handler (`index.handler`). @since 0.3.0 @category utils */
export const handler = SyncWorker.toHandler(runtime)
