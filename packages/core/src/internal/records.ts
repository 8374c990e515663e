/**
 * Record writes shared by the flows.
 *
 * @internal
 */
import { Effect, Option, Schedule } from "effect"
import type * as Customer from "../Customer.js"
import { CustomerRepo, type CustomerRepoError, VersionConflict } from "../CustomerRepo.js"
import type { CustomerId } from "../Ids.js"
import * as Retry from "../Retry.js"

/**
 * Read-modify-write a record with the version check, re-reading on a lost race. `f` returns the new
 * record, or `None` when the change no longer applies (a newer event got there first).
 */
export const updateRecord = (
  customerId: CustomerId,
  f: (customer: Customer.Customer) => Option.Option<Customer.Customer>
): Effect.Effect<Option.Option<Customer.Customer>, CustomerRepoError | VersionConflict, CustomerRepo> =>
  Effect.gen(function*() {
    const repo = yield* CustomerRepo
    const current = yield* Retry.repo(repo.get(customerId))
    if (Option.isNone(current)) return Option.none()
    const next = f(current.value)
    if (Option.isNone(next)) return Option.none()
    return Option.some(yield* Retry.repo(repo.update(next.value)))
  }).pipe(
    Effect.retry({ while: (e) => e._tag === "VersionConflict", schedule: Schedule.recurs(8) })
  )
