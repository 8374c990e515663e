/**
 * The `UsageSource` port: requests per API key per UTC day for one usage plan, read page by page
 * (API Gateway `GetUsage`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Context, Schema } from "effect"
import type { ApiKeyId, UsagePlanId } from "./Ids.js"
import * as Transient from "./Transient.js"
import type { UtcDay } from "./UtcDay.js"

/**
 * Why a usage read failed. `Throttled`, `Transport`, `Server` and `Timeout` are
 * transient. Adapters report a request that timed out as `Transport`; `Timeout` is core's own per-attempt
 * timeout (`Retry`).
 *
 * @since 0.1.0
 * @category errors
 */
export const UsageSourceErrorReason = Schema.Literal(
  "Throttled",
  "Transport",
  "Server",
  "Timeout",
  "BadRequest",
  "NotFound"
)

/** A failed usage read. @since 0.1.0 @category errors */
export class UsageSourceError extends Schema.TaggedError<UsageSourceError>()("UsageSourceError", {
  reason: UsageSourceErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) implements Transient.Transient {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return Transient.awsReasons.has(this.reason)
  }
}

/**
 * One key's counts: `counts[i]` is the requests on the i-th day of the requested range.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyUsage {
  readonly apiKeyId: ApiKeyId
  readonly counts: ReadonlyArray<number>
}

/** One page of a usage read. @since 0.1.0 @category models */
export interface UsagePage {
  readonly items: ReadonlyArray<KeyUsage>
  /** Where the next page starts; undefined on the last page. */
  readonly position: string | undefined
}

/** A request for one page of usage of all keys in a plan over a range of days. @since 0.1.0 @category models */
export interface UsageQuery {
  readonly usagePlanId: UsagePlanId
  readonly startDay: UtcDay
  readonly endDay: UtcDay
  /** Restrict to one key (API Gateway's `keyId`). */
  readonly apiKeyId?: ApiKeyId
  readonly position?: string
  /** Keys per page; API Gateway allows up to 500. */
  readonly limit?: number
}

/** Reading usage counts. @since 0.1.0 @category services */
export interface UsageSourceService {
  /** One page of usage per key per day, in the order of days from `startDay` to `endDay`. */
  readonly getUsagePage: (query: UsageQuery) => Effect.Effect<UsagePage, UsageSourceError>
}

/** The `UsageSource` port. @since 0.1.0 @category services */
export class UsageSource extends Context.Tag("@augint-billing/core/UsageSource")<UsageSource, UsageSourceService>() {}

/** The most keys one page may hold. @since 0.1.0 @category constants */
export const MAX_PAGE_SIZE = 500
/** API Gateway refuses ranges longer than this many days. @since 0.1.0 @category constants */
export const MAX_RANGE_DAYS = 90
