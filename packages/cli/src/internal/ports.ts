/**
 * The ports as the CLI's own commands call them, each with its retry policy applied once
 * (`Retry.service`), as core's flows take them; the runtimes provide the plain adapters.
 */
import { CustomerRepo, PlanAdmin, Retry, Stripe } from "@augint-billing/core"
import { Effect } from "effect"

/** The repository, retried on `Retry.customerRepoPort`. */
export const repo = Effect.map(CustomerRepo.CustomerRepo, Retry.service(Retry.customerRepoPort))

/** Usage plan membership, retried on `Retry.planAdminPort`. */
export const planAdmin = Effect.map(PlanAdmin.PlanAdmin, Retry.service(Retry.planAdminPort))

/** Stripe, retried on `Retry.stripePort`. */
export const stripe = Effect.map(Stripe.Stripe, Retry.service(Retry.stripePort))
