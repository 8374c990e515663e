/**
 * The `CustomerRepo` port: customer records with versioned, conditional writes, and processed-event
 * markers.
 *
 * @since 0.1.0
 */
import type { Effect, Option, Stream } from "effect"
import { Context, Schema } from "effect"
import type { Customer } from "./Customer.js"
import type { ApiKeyId, EventId } from "./Ids.js"
import { CustomerId } from "./Ids.js"
import * as Transient from "./Transient.js"

/** A conditional write lost: the record changed (or appeared) since it was read. @since 0.1.0 @category errors */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  customerId: CustomerId,
  message: Schema.String
}) {}

/**
 * Why the repository failed. `Throttled`, `Transport`, `Server` and `Timeout` are transient.
 * Adapters report a request that timed out as `Transport`; `Timeout` is core's own per-attempt timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export const CustomerRepoErrorReason = Schema.Literal("Throttled", "Transport", "Server", "Timeout", "Invalid")

/** A failed repository call other than a lost race. @since 0.1.0 @category errors */
export class CustomerRepoError extends Schema.TaggedError<CustomerRepoError>()("CustomerRepoError", {
  reason: CustomerRepoErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) implements Transient.Transient {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return Transient.awsReasons.has(this.reason)
  }
}

/** Customer records and processed-event markers. @since 0.1.0 @category services */
export interface CustomerRepoService {
  /** The record of a Stripe customer. */
  readonly get: (customerId: CustomerId) => Effect.Effect<Option.Option<Customer>, CustomerRepoError>
  /**
   * The records of many customers, read as `get` reads one (strongly consistent in DynamoDB), in as
   * few requests as the store allows; an id without a record is absent from the map, and an id given
   * twice is read once. @since 0.4.0
   */
  readonly getMany: (
    customerIds: ReadonlyArray<CustomerId>
  ) => Effect.Effect<ReadonlyMap<CustomerId, Customer>, CustomerRepoError>
  /** The record linked to an API key. */
  readonly findByApiKey: (apiKeyId: ApiKeyId) => Effect.Effect<Option.Option<Customer>, CustomerRepoError>
  /** Store a new record (its `version` must be 0); `VersionConflict` when the customer already has one. */
  readonly create: (customer: Customer) => Effect.Effect<Customer, CustomerRepoError | VersionConflict>
  /**
   * Replace a record whose stored version is still `customer.version`; the stored and returned record
   * has the next version. `VersionConflict` when another write came first.
   */
  readonly update: (customer: Customer) => Effect.Effect<Customer, CustomerRepoError | VersionConflict>
  /** Delete a record whose stored version is still `customer.version`. */
  readonly remove: (customer: Customer) => Effect.Effect<void, CustomerRepoError | VersionConflict>
  /**
   * Every record the hourly sync must look at (`Customer.isSyncCandidate`), page by page. A page that
   * fails transiently is read again on the repository's retry schedule before the stream fails.
   */
  readonly listSyncCandidates: () => Stream.Stream<Customer, CustomerRepoError>
  /** Every record, page by page (pages retried like `listSyncCandidates`'). */
  readonly list: () => Stream.Stream<Customer, CustomerRepoError>
  /** Whether an event was processed (markers live longer than Stripe's 3-day retry window). */
  readonly isProcessed: (eventId: EventId) => Effect.Effect<boolean, CustomerRepoError>
  /** Remember that an event was processed; `expiresAt` is epoch seconds. */
  readonly markProcessed: (
    input: { readonly eventId: EventId; readonly expiresAt: number }
  ) => Effect.Effect<void, CustomerRepoError>
}

/** The `CustomerRepo` port. @since 0.1.0 @category services */
export class CustomerRepo
  extends Context.Tag("@augint-billing/core/CustomerRepo")<CustomerRepo, CustomerRepoService>()
{}
