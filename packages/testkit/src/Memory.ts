/**
 * All four ports in memory on one shared state, with the `Driver` to steer it. Each build of the
 * Layer starts from fresh state.
 *
 * @since 0.1.0
 */
import type { CustomerRepo, PlanAdmin, Stripe, UsageSource } from "@augint-billing/core"
import { Layer } from "effect"
import * as CustomerRepoMemory from "./CustomerRepoMemory.js"
import * as Driver from "./Driver.js"
import * as MemoryState from "./MemoryState.js"
import * as PlanAdminMemory from "./PlanAdminMemory.js"
import * as StripeMemory from "./StripeMemory.js"
import * as UsageSourceMemory from "./UsageSourceMemory.js"

/**
 * The four ports and the driver, without the state (provide `MemoryState.layer` yourself to share it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutState: Layer.Layer<
  Stripe.Stripe | UsageSource.UsageSource | CustomerRepo.CustomerRepo | PlanAdmin.PlanAdmin | Driver.Driver,
  never,
  MemoryState.MemoryState
> = Layer.mergeAll(
  StripeMemory.layer,
  UsageSourceMemory.layer,
  CustomerRepoMemory.layer,
  PlanAdminMemory.layer,
  Driver.layer
)

/** The four ports and the driver on fresh shared state. @since 0.1.0 @category layers */
export const layerMemory = (
  options: { readonly usagePlans?: ReadonlyArray<string>; readonly webhookSecret?: string } = {}
): Layer.Layer<
  Stripe.Stripe | UsageSource.UsageSource | CustomerRepo.CustomerRepo | PlanAdmin.PlanAdmin | Driver.Driver
> => layerWithoutState.pipe(Layer.provide(MemoryState.layer(options)))
