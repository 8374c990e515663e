/**
 * Record writes shared by the flows.
 *
 * @internal
 */
import { Effect, Either, Option, Schedule } from "effect"
import type * as Customer from "../Customer.js"
import { CustomerRepo, type CustomerRepoError, VersionConflict } from "../CustomerRepo.js"
import type { CustomerId } from "../Ids.js"
import * as Ports from "./ports.js"

/**
 * Read-modify-write a record with the version check, re-reading on a lost race. `f` says what happened
 * to the record as last read: `Right` is written (and returned as stored), `Left` is returned as it is;
 * `None` when there is no record.
 */
export const change = <L>(
  customerId: CustomerId,
  f: (customer: Customer.Customer) => Either.Either<Customer.Customer, L>
): Effect.Effect<
  Option.Option<Either.Either<Customer.Customer, L>>,
  CustomerRepoError | VersionConflict,
  CustomerRepo
> =>
  Effect.gen(function*() {
    const repo = yield* Ports.repo
    const current = yield* repo.get(customerId)
    if (Option.isNone(current)) return Option.none()
    const next = f(current.value)
    if (Either.isLeft(next)) return Option.some(next)
    return Option.some(Either.right(yield* repo.update(next.right)))
  }).pipe(
    Effect.retry({ while: (e) => e._tag === "VersionConflict", schedule: Schedule.recurs(8) })
  )

/** Why a change wrote nothing, when it was refused. */
export const refusalOf = <L>(result: Option.Option<Either.Either<Customer.Customer, L>>): L | undefined =>
  Option.isSome(result) && Either.isLeft(result.value) ? result.value.left : undefined

/**
 * Read-modify-write a record with the version check, re-reading on a lost race. `f` returns the new
 * record, or `None` when the change no longer applies (a newer event got there first).
 */
export const updateRecord = (
  customerId: CustomerId,
  f: (customer: Customer.Customer) => Option.Option<Customer.Customer>
): Effect.Effect<Option.Option<Customer.Customer>, CustomerRepoError | VersionConflict, CustomerRepo> =>
  change(customerId, (c) => Either.fromOption(f(c), () => "Unchanged" as const)).pipe(
    Effect.map(Option.flatMap(Either.getRight))
  )
