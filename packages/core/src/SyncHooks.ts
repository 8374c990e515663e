/**
 * Steps the hourly sync runs when they are in its context, so that the sync (and the webhook's flush,
 * which shares it) does not carry their code when they are not: spend alerts (`SpendAlerts.layer`).
 *
 * @since 0.2.0
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { Customer } from "./Customer.js"

/**
 * Called with a customer's record after its counts are reported; answers the record as it left it.
 * Never fails: a hook logs its own failures.
 *
 * @since 0.2.0
 * @category services
 */
export class AfterReport extends Context.Tag("@augint-billing/core/SyncHooks/AfterReport")<
  AfterReport,
  (customer: Customer) => Effect.Effect<Customer>
>() {}
