/**
 * The `PlanAdmin` port: which usage plans a key is in, and adding or removing it (API Gateway usage
 * plan keys). The move between plans is a core program, `KeyMove`, built on these primitives.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Context, Schema } from "effect"
import type { ApiKeyId, UsagePlanId } from "./Ids.js"
import * as Transient from "./Transient.js"

/**
 * Why a plan call failed. `Throttled`, `Transport`, `Server` and `Timeout` are
 * transient. Adapters report a request that timed out as `Transport`; `Timeout` is core's own per-attempt
 * timeout (`Retry`).
 *
 * @since 0.1.0
 * @category errors
 */
export const PlanAdminErrorReason = Schema.Literal(
  "NotFound",
  "Conflict",
  "Throttled",
  "Transport",
  "Server",
  "Timeout",
  "BadRequest"
)

/**
 * A failed plan call. `NotFound` on remove and `Conflict` on add carry meaning for the move.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlanAdminError extends Schema.TaggedError<PlanAdminError>()("PlanAdminError", {
  reason: PlanAdminErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) implements Transient.Transient {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return Transient.awsReasons.has(this.reason)
  }
}

/** One page of a plan's keys. @since 0.3.0 @category models */
export interface KeysPage {
  readonly keys: ReadonlyArray<ApiKeyId>
  /** Where the next page starts; absent on the last page. */
  readonly position?: string
}

/** The most keys `GetUsagePlanKeys` returns a page (its `limit`, default 25). @since 0.3.0 @category constants */
export const MAX_KEYS_PAGE_SIZE = 500

/** Usage plan membership of API keys. @since 0.1.0 @category services */
export interface PlanAdminService {
  /** The usage plans the key is in (API Gateway allows one per stage; normally zero or one). */
  readonly plansOf: (apiKeyId: ApiKeyId) => Effect.Effect<ReadonlyArray<UsagePlanId>, PlanAdminError>
  /** Add the key to a plan; `Conflict` when the key is already in a plan on the same stage. */
  readonly addKey: (
    input: { readonly usagePlanId: UsagePlanId; readonly apiKeyId: ApiKeyId }
  ) => Effect.Effect<void, PlanAdminError>
  /**
   * One page of the keys in a plan (API Gateway's `GetUsagePlanKeys`, at most `MAX_KEYS_PAGE_SIZE` a
   * page); `position` continues from the previous page and is absent on the last. The sync reads the
   * metered plan's keys once a run to check every candidate's membership in one pass.
   */
  readonly keysPage: (
    input: { readonly usagePlanId: UsagePlanId; readonly position?: string }
  ) => Effect.Effect<KeysPage, PlanAdminError>
  /** Remove the key from a plan; `NotFound` when it is not in it. */
  readonly removeKey: (
    input: { readonly usagePlanId: UsagePlanId; readonly apiKeyId: ApiKeyId }
  ) => Effect.Effect<void, PlanAdminError>
}

/** The `PlanAdmin` port. @since 0.1.0 @category services */
export class PlanAdmin extends Context.Tag("@augint-billing/core/PlanAdmin")<PlanAdmin, PlanAdminService>() {}
