/**
 * Parsing API Gateway `GetUsage` output: `items` (the wire's `values`) maps each API key id to "daily
 * logs of used and remaining quotas ... [used quota, remaining quota]" over the range, oldest first
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html). `remaining` is cumulative
 * over the quota period (a live body: `[[137,999863],[123,999740],[84,999656]]`, floci-io/floci#3561),
 * so only `used` is read. Users report that days without requests do not come back in the same form
 * as days with them; the worse of the plausible forms is assumed for each:
 * - `[0, r]`, `[]`, `null` or `[null, r]` in the day's place: zero;
 * - the day left out of the list: a list shorter than the range, which cannot say which days it
 *   holds, so the key is `Unresolved` and read one day at a time (a one-day list is never ambiguous).
 */
import type { UsageSource } from "@augint-billing/core"
import { Ids } from "@augint-billing/core"
import { Either, Schema } from "effect"

const isKey = Schema.is(Ids.ApiKeyId)

/** One key of a page: its counts per day of the range, or `Unresolved` when days were left out. */
export type ParsedKey =
  | { readonly _tag: "Counts"; readonly usage: UsageSource.KeyUsage }
  | { readonly _tag: "Unresolved"; readonly apiKeyId: Ids.ApiKeyId; readonly listed: number }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `used` of one day's entry: a day without requests in any of its forms is 0; anything else is refused. */
const usedOf = (entry: unknown): Either.Either<number, string> => {
  if (entry === null || entry === undefined) return Either.right(0)
  if (!Array.isArray(entry)) return Either.left(`entry ${JSON.stringify(entry)} is not a [used, remaining] pair`)
  if (entry.length === 0) return Either.right(0)
  // One number alone could be `used` or `remaining`: billing it either way would be a guess.
  if (entry.length !== 2) return Either.left(`entry ${JSON.stringify(entry)} is not a [used, remaining] pair`)
  const [used, remaining] = entry as [unknown, unknown]
  if (remaining !== null && typeof remaining !== "number") {
    return Either.left(`entry ${JSON.stringify(entry)} has a non-numeric remaining quota`)
  }
  if (used === null) return Either.right(0)
  return typeof used === "number" && Number.isInteger(used) && used >= 0
    ? Either.right(used)
    : Either.left(`entry ${JSON.stringify(entry)} has ${JSON.stringify(used)} requests`)
}

/**
 * Counts per key for a range of `days` days. A key with no list, or an empty one, made no requests;
 * a list as long as the range is read day by day; a shorter one is `Unresolved`; a longer one, a
 * malformed entry or a malformed key id is refused (never silently billed).
 */
export const parseItems = (items: unknown, days: number): Either.Either<ReadonlyArray<ParsedKey>, string> => {
  if (items === undefined || items === null) return Either.right([])
  if (!isRecord(items)) return Either.left("GetUsage items are malformed: not a map of key ids")
  const out: Array<ParsedKey> = []
  for (const [apiKeyId, perDay] of Object.entries(items)) {
    if (!isKey(apiKeyId)) return Either.left(`GetUsage returned a malformed key id ${JSON.stringify(apiKeyId)}`)
    const list = perDay ?? []
    if (!Array.isArray(list)) return Either.left(`GetUsage items of key ${apiKeyId} are not a list`)
    if (list.length > days) {
      return Either.left(`GetUsage returned ${list.length} days for key ${apiKeyId}, the range has ${days}`)
    }
    const counts: Array<number> = []
    for (const entry of list) {
      const used = usedOf(entry)
      if (Either.isLeft(used)) return Either.left(`GetUsage key ${apiKeyId}: ${used.left}`)
      counts.push(used.right)
    }
    if (list.length === 0) out.push({ _tag: "Counts", usage: { apiKeyId, counts: Array<number>(days).fill(0) } })
    else if (list.length === days) out.push({ _tag: "Counts", usage: { apiKeyId, counts } })
    else out.push({ _tag: "Unresolved", apiKeyId, listed: list.length })
  }
  return Either.right(out)
}
