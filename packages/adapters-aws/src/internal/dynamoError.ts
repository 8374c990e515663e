/**
 * How a classified DynamoDB failure becomes the repository's error, for the repository and the table
 * administration alike.
 */
import { CustomerRepo } from "@augint-billing/core"
import type { Classified } from "./awsError.js"

// "Operation was rejected because there is an ongoing transaction for the item": a single-item write
// (PutItem, UpdateItem, DeleteItem) that met an item inside another transaction. It clears on its own
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_Errors).
const TRANSACTION_CONFLICT = "TransactionConflictException"

/** A DynamoDB failure as the repository's error: the transient kinds keep their name, the rest is `Invalid`. */
export const repoError = (failure: Classified, cause: unknown) =>
  new CustomerRepo.CustomerRepoError({
    // Contention with another transaction is retried like a throttle: back off, then try again.
    reason: failure.name === TRANSACTION_CONFLICT
      ? "Throttled"
      : failure.kind === "Throttled" || failure.kind === "Transport" || failure.kind === "Server"
      ? failure.kind
      : "Invalid",
    message: `DynamoDB ${failure.message}`,
    cause
  })

/** A conditional write that lost (`Lost`, a `VersionConflict` to the caller), or the repository's error. */
export type WriteFailure = { readonly _tag: "Lost"; readonly failure: Classified } | CustomerRepo.CustomerRepoError

/** Whether a write failed because its condition did not hold. */
export const isLost = (e: WriteFailure): e is Extract<WriteFailure, { _tag: "Lost" }> => e._tag === "Lost"

/**
 * The codes of a cancelled transaction, one per item (`None` for an item that was fine): the SDK's
 * `CancellationReasons`, else the list DynamoDB writes at the end of the message
 * ("... cancellation reasons for specific reasons [None, TransactionConflict]").
 */
const cancellationCodes = (cause: unknown, message: string): ReadonlyArray<string> => {
  const reasons = typeof cause === "object" && cause !== null
    ? (cause as { readonly CancellationReasons?: unknown }).CancellationReasons
    : undefined
  if (Array.isArray(reasons)) {
    return reasons.map((r) => (typeof r === "object" && r !== null ? String((r as { Code?: unknown }).Code) : "None"))
  }
  const listed = /\[([A-Za-z, ]*)\]\s*$/.exec(message)
  return listed === null ? [] : listed[1]!.split(",").map((s) => s.trim())
}

// A TransactWriteItems is cancelled as a whole with one reason per item
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#API_TransactWriteItems_Errors):
// `ConditionalCheckFailed` is a lost race; `TransactionConflict` (another transaction held an item),
// `ThrottlingError` and `ProvisionedThroughputExceeded` say nothing about the conditions and clear on retry.
const TRANSIENT_CANCELLATIONS = new Set(["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])

/** A write's failure: a condition that did not hold is `Lost`, everything else the repository's error. */
export const writeError = (failure: Classified, cause: unknown): WriteFailure => {
  if (failure.kind === "ConditionFailed") return { _tag: "Lost", failure }
  if (failure.name !== "TransactionCanceledException") return repoError(failure, cause)
  const codes = cancellationCodes(cause, failure.message)
  if (codes.includes("ConditionalCheckFailed")) return { _tag: "Lost", failure }
  return new CustomerRepo.CustomerRepoError({
    reason: codes.some((c) => TRANSIENT_CANCELLATIONS.has(c)) ? "Throttled" : "Invalid",
    message: `DynamoDB ${failure.message}`,
    cause
  })
}
