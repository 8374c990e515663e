/**
 * The ports as the flows call them: each with its retry policy applied once (`Retry.service`), so
 * no flow wraps a call and the shells provide the plain adapters.
 *
 * @internal
 */
import { Effect } from "effect"
import { CustomerRepo } from "../CustomerRepo.js"
import { PlanAdmin } from "../PlanAdmin.js"
import * as Retry from "../Retry.js"
import { Stripe } from "../Stripe.js"
import { UsageSource } from "../UsageSource.js"

/** Stripe, retried on `Retry.stripePort`. */
export const stripe = Effect.map(Stripe, Retry.service(Retry.stripePort))

/** The repository, retried on `Retry.customerRepoPort`. */
export const repo = Effect.map(CustomerRepo, Retry.service(Retry.customerRepoPort))

/** The repository as the sync's per-customer steps call it (`Retry.customerRepoSyncPort`). */
export const repoInSync = Effect.map(CustomerRepo, Retry.service(Retry.customerRepoSyncPort))

/** Usage reads, retried on `Retry.usageSourcePort`. */
export const usageSource = Effect.map(UsageSource, Retry.service(Retry.usageSourcePort))

/** Usage plan membership, retried on `Retry.planAdminPort`. */
export const planAdmin = Effect.map(PlanAdmin, Retry.service(Retry.planAdminPort))
