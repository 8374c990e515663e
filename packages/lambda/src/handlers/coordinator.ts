/**
 * Bundle entry of the fanned-out sync's coordinator: the runtime (the AWS ports and the work queue's client) is
 * built, and the configuration validated, at container init; every invocation reuses it.
 *
 * @since 0.3.0
 */
import * as AwsAdapters from "@augint-billing/adapters-aws/AwsAdapters"
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import * as Layer from "effect/Layer"
import * as Emf from "../Emf.js"
import * as LambdaRuntime from "../LambdaRuntime.js"
import * as SyncCoordinator from "../SyncCoordinator.js"

const runtime = await LambdaRuntime.make(
  "coordinator",
  Layer.mergeAll(
    // The AWS ports only: the coordinator never calls Stripe, so it has no Stripe client or secret.
    AwsAdapters.layerConfig.pipe(Layer.provideMerge(BillingConfig.layerConfig)),
    SyncCoordinator.layerQueueConfig,
    Emf.layerConfig("coordinator")
  )
)

/** The Lambda handler (`index.handler`). @since 0.3.0 @category utils */
export const handler = SyncCoordinator.toHandler(runtime)
