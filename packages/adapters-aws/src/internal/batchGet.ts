/**
 * Many items by key with BatchGetItem, within its rules: at most 100 keys a request, no key twice in
 * one request, and the keys a request leaves unprocessed read again with backoff.
 */
import { CustomerRepo, Retry } from "@augint-billing/core"
import { Array as Arr, Data, Effect } from "effect"
import { repoError } from "./dynamoError.js"
import { send } from "./sdk.js"

/**
 * Keys a BatchGetItem request may hold: "If you request more than 100 items, BatchGetItem returns a
 * ValidationException" (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
 */
export const MAX_KEYS = 100

// A request that answered but left keys unprocessed (over 16 MB, throttled partitions, an internal
// failure): not an error of the call, so the port's retry policy, which re-reads everything, never sees it.
class Unprocessed extends Data.TaggedError("Unprocessed")<{ readonly left: number }> {}

/** A key of the table, and an item as the document client reads it. */
export type Key = Record<string, unknown>
type Item = Record<string, unknown>

/** One BatchGetItem request for `keys` on the caller's table, as the document client answers it. */
export type Request = (
  keys: Array<Key>,
  abortSignal: AbortSignal
) => Promise<{
  readonly Responses?: Record<string, ReadonlyArray<Item>> | undefined
  readonly UnprocessedKeys?: Record<string, { readonly Keys?: ReadonlyArray<Key> | undefined }> | undefined
}>

/**
 * Read the items of `keys` from `tableName` through `request`, `MAX_KEYS` a request, the requests in
 * turn; the caller's request reads as its `GetItem` would (`ConsistentRead`). Keys must be distinct
 * (DynamoDB refuses a request that holds one twice: "Provided list of item keys contains duplicates").
 * Keys without an item are not in the answer. Unprocessed keys are read again on `Retry.repoPolicy`'s
 * schedule, as AWS asks ("If DynamoDB returns any unprocessed items, you should retry the batch
 * operation on those items ... we strongly recommend that you use an exponential backoff algorithm",
 * same page); keys still unprocessed when it is spent fail the read as `Throttled`, which the port's
 * policy retries.
 */
export const batchGet = (
  tableName: string,
  keys: ReadonlyArray<Key>,
  request: Request
): Effect.Effect<ReadonlyArray<Item>, CustomerRepo.CustomerRepoError> =>
  Effect.suspend(() => {
    return Effect.map(
      Effect.forEach(Arr.chunksOf(keys, MAX_KEYS), (chunk) => readChunk(tableName, chunk, request)),
      (found) => found.flat()
    )
  })

const readChunk = (tableName: string, keys: ReadonlyArray<Key>, request: Request) =>
  Effect.suspend(() => {
    const found: Array<Item> = []
    let pending = keys
    const round = send((abortSignal) => request([...pending], abortSignal), repoError).pipe(
      Effect.flatMap((out) => {
        found.push(...(out.Responses?.[tableName] ?? []))
        pending = out.UnprocessedKeys?.[tableName]?.Keys ?? []
        return pending.length === 0 ? Effect.void : Effect.fail(new Unprocessed({ left: pending.length }))
      })
    )
    return round.pipe(
      Effect.retry({ schedule: Retry.repoPolicy.schedule, while: (e) => e._tag === "Unprocessed" }),
      Effect.catchTag("Unprocessed", (e) =>
        Effect.fail(
          new CustomerRepo.CustomerRepoError({
            reason: "Throttled",
            message: `DynamoDB BatchGetItem left ${e.left} of ${keys.length} keys unprocessed after its retries`
          })
        )),
      Effect.as(found)
    )
  })
