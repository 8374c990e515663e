/**
 * Parsing API Gateway `GetUsage` output: `items` (the wire's `values`) maps each API key id to one
 * `[used, remaining]` pair per day of the range, oldest first.
 */
import type { UsageSource } from "@augint-billing/core"
import { Ids } from "@augint-billing/core"
import { Either, Schema } from "effect"

const Pair = Schema.Array(Schema.Number)
const Items = Schema.Record({ key: Schema.String, value: Schema.Array(Pair) })
const decodeItems = Schema.decodeUnknownEither(Items)
const isKey = Schema.is(Ids.ApiKeyId)

/**
 * Counts per key for `days` days. Days API Gateway left out (a key with no traffic late in the range,
 * or an empty list) count zero; a count that is not a whole non-negative number is refused.
 */
export const parseItems = (
  items: unknown,
  days: number
): Either.Either<ReadonlyArray<UsageSource.KeyUsage>, string> => {
  if (items === undefined || items === null) return Either.right([])
  const decoded = decodeItems(items)
  if (Either.isLeft(decoded)) return Either.left(`GetUsage items are malformed: ${decoded.left.message}`)
  const out: Array<UsageSource.KeyUsage> = []
  for (const [apiKeyId, perDay] of Object.entries(decoded.right)) {
    if (!isKey(apiKeyId)) return Either.left(`GetUsage returned a malformed key id ${JSON.stringify(apiKeyId)}`)
    if (perDay.length > days) {
      return Either.left(`GetUsage returned ${perDay.length} days for key ${apiKeyId}, the range has ${days}`)
    }
    const counts: Array<number> = []
    for (let i = 0; i < days; i++) {
      const used = perDay[i]?.[0] ?? 0
      if (!Number.isInteger(used) || used < 0) {
        return Either.left(`GetUsage returned ${used} requests for key ${apiKeyId} on day ${i}`)
      }
      counts.push(used)
    }
    out.push({ apiKeyId, counts })
  }
  return Either.right(out)
}
