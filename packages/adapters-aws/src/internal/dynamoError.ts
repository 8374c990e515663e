/**
 * How a classified DynamoDB failure becomes the repository's error, for the repository and the table
 * administration alike.
 */
import { CustomerRepo } from "@augint-billing/core"
import type { Classified } from "./awsError.js"

/** A DynamoDB failure as the repository's error: the transient kinds keep their name, the rest is `Invalid`. */
export const repoError = (failure: Classified, cause: unknown) =>
  new CustomerRepo.CustomerRepoError({
    reason: failure.kind === "Throttled" || failure.kind === "Transport" || failure.kind === "Server"
      ? failure.kind
      : "Invalid",
    message: `DynamoDB ${failure.message}`,
    cause
  })

/** A conditional write that lost (`Lost`, a `VersionConflict` to the caller), or the repository's error. */
export type WriteFailure = { readonly _tag: "Lost"; readonly failure: Classified } | CustomerRepo.CustomerRepoError

/** Whether a write failed because its condition did not hold. */
export const isLost = (e: WriteFailure): e is Extract<WriteFailure, { _tag: "Lost" }> => e._tag === "Lost"

/** A write's failure: a lost condition is `Lost`, everything else the repository's error. */
export const writeError = (failure: Classified, cause: unknown): WriteFailure =>
  failure.kind === "ConditionFailed" ||
    (failure.name === "TransactionCanceledException" &&
      /ConditionalCheckFailed|TransactionConflict/.test(failure.message))
    ? { _tag: "Lost", failure }
    : repoError(failure, cause)
