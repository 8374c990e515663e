/**
 * The local mode's store: the in-memory ports' state (`MemoryState.State`) and the last sync report,
 * kept as one JSON document in a directory through @effect/platform's file-system `KeyValueStore`.
 * One invocation at a time holds the directory (a lock file created exclusively), and a save writes a
 * temporary key and renames it over the document, so a crash never leaves half a state behind.
 *
 * @since 0.1.0
 */
import { Customer, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { MemoryState } from "@augint-billing/testkit"
import { FileSystem, KeyValueStore, Path } from "@effect/platform"
import { Data, Effect, Option, Schedule, Schema } from "effect"

/** The local store could not be read, written or locked. @since 0.1.0 @category errors */
export class LocalStoreError extends Data.TaggedError("LocalStoreError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** The document's key (its file name in the directory). @since 0.1.0 @category constants */
export const STATE_KEY = "state.json"
/** The lock file's name in the directory. @since 0.1.0 @category constants */
export const LOCK_FILE = "lock"

const Pair = <K extends Schema.Schema.Any, V extends Schema.Schema.Any>(key: K, value: V) => Schema.Tuple(key, value)

const Subscription = Schema.Struct({
  id: Ids.SubscriptionId,
  customerId: Ids.CustomerId,
  status: Schema.Literal("active", "trialing", "past_due", "canceled", "unpaid"),
  invoicedNow: Schema.Boolean,
  // Absent in state files written before they were recorded.
  createdAt: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  canceledAt: Schema.optionalWith(Schema.UndefinedOr(Schema.Number), { default: () => undefined })
})

const StripeCustomer = Schema.Struct({
  id: Ids.CustomerId,
  deleted: Schema.Boolean,
  paymentMethods: Schema.Int,
  metadata: Schema.Record({ key: Schema.String, value: Schema.String })
})

const MeterEvent = Schema.Struct({
  customerId: Ids.CustomerId,
  value: Schema.Number,
  identifier: Schema.String,
  timestamp: Schema.Number,
  acceptedAt: Schema.Number
})

/** The persisted form of the local state (Maps and Sets as arrays of entries). @since 0.1.0 @category models */
export const Document = Schema.Struct({
  format: Schema.Literal(1),
  usagePlans: Schema.Array(Ids.UsagePlanId),
  apiKeys: Schema.Array(Ids.ApiKeyId),
  membership: Schema.Array(Pair(Ids.ApiKeyId, Schema.Array(Ids.UsagePlanId))),
  usage: Schema.Array(
    Pair(Ids.UsagePlanId, Schema.Array(Pair(Ids.ApiKeyId, Schema.Array(Pair(UtcDay.UtcDay, Schema.Number)))))
  ),
  stripeCustomers: Schema.Array(StripeCustomer),
  subscriptions: Schema.Array(Subscription),
  idempotency: Schema.Array(
    Pair(Schema.String, Schema.Struct({ subscriptionId: Ids.SubscriptionId, at: Schema.Number }))
  ),
  meterEvents: Schema.Array(MeterEvent),
  identifiers: Schema.Array(Pair(Schema.String, Schema.Number)),
  events: Schema.Array(Schema.Struct({ created: Schema.Number, json: Schema.Unknown })),
  webhookSecret: Schema.String,
  nextId: Schema.Int,
  records: Schema.Array(Customer.Customer),
  processed: Schema.Array(Pair(Ids.EventId, Schema.Number)),
  lastSync: Schema.optional(UsageSync.SyncReport)
})
/** The persisted form of the local state. @since 0.1.0 @category models */
export type Document = typeof Document.Type

/** What an invocation works on: the live state and the last sync report. @since 0.1.0 @category models */
export interface Local {
  readonly state: MemoryState.State
  lastSync: UsageSync.SyncReport | undefined
}

/** The state as a document. @since 0.1.0 @category conversions */
export const toDocument = (local: Local): Document => {
  const s = local.state
  return {
    format: 1,
    usagePlans: [...s.usagePlans],
    apiKeys: [...s.apiKeys],
    membership: [...s.membership].map(([k, plans]) => [k, [...plans]] as const),
    usage: [...s.usage].map(([plan, keys]) => [plan, [...keys].map(([k, days]) => [k, [...days]] as const)] as const),
    stripeCustomers: [...s.stripeCustomers.values()].map((c) => ({ ...c, metadata: { ...c.metadata } })),
    subscriptions: [...s.subscriptions.values()].map((x) => ({ ...x })),
    idempotency: [...s.idempotency],
    meterEvents: [...s.meterEvents],
    identifiers: [...s.identifiers],
    events: [...s.events],
    webhookSecret: s.webhookSecret,
    nextId: s.nextId,
    records: [...s.records.values()],
    processed: [...s.processed],
    ...(local.lastSync === undefined ? {} : { lastSync: local.lastSync })
  }
}

/**
 * A document as live state (the lookup index and the steering maps are rebuilt empty).
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromDocument = (doc: Document): Local => {
  const state = MemoryState.make({ usagePlans: doc.usagePlans, webhookSecret: doc.webhookSecret })
  for (const k of doc.apiKeys) state.apiKeys.add(k)
  for (const [k, plans] of doc.membership) state.membership.set(k, new Set(plans))
  for (const [plan, keys] of doc.usage) {
    state.usage.set(plan, new Map(keys.map(([k, days]) => [k, new Map(days)])))
  }
  for (const c of doc.stripeCustomers) state.stripeCustomers.set(c.id, { ...c, metadata: { ...c.metadata } })
  for (const x of doc.subscriptions) state.subscriptions.set(x.id, { ...x })
  for (const [k, v] of doc.idempotency) state.idempotency.set(k, v)
  state.meterEvents.push(...doc.meterEvents)
  for (const [k, v] of doc.identifiers) state.identifiers.set(k, v)
  state.events.push(...doc.events)
  state.nextId = doc.nextId
  for (const r of doc.records) {
    state.records.set(r.customerId, r)
    state.byApiKey.set(r.apiKeyId, r.customerId)
  }
  for (const [k, v] of doc.processed) state.processed.set(k, v)
  return { state, lastSync: doc.lastSync }
}

const DocumentJson = Schema.parseJson(Document)
const encodeDocument = Schema.encode(DocumentJson)
const decodeDocument = Schema.decode(DocumentJson)

/** Options of a run over the store. @since 0.1.0 @category models */
export interface RunOptions {
  /** Write the state back when it changed (false for dry runs and read-only commands). */
  readonly persist: boolean
  /** The usage plans that must exist in the local API Gateway (the configured free and metered plans). */
  readonly usagePlans: ReadonlyArray<Ids.UsagePlanId>
}

const storeError = (message: string) => (cause: unknown) => new LocalStoreError({ message, cause })

/**
 * Lock `dir`, load its state (fresh state when there is none), run `f` over it, and save it back if it
 * changed and `persist` is set: after a failure too, since local Stripe may already have accepted part
 * of the work, as the real one would have.
 */
export const run = <A, E, R>(
  dir: string,
  options: RunOptions,
  f: (local: Local) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | LocalStoreError, R | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const store = yield* KeyValueStore.layerFileSystem(dir).pipe(
      (layer) => Effect.provide(KeyValueStore.KeyValueStore, layer),
      Effect.mapError(storeError(`cannot use ${dir} as the local store`))
    )
    const lockPath = path.join(dir, LOCK_FILE)
    yield* Effect.acquireRelease(
      fs.writeFileString(lockPath, "ai-billing\n", { flag: "wx" }).pipe(
        Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }),
        Effect.mapError(() =>
          new LocalStoreError({
            message: `another ai-billing is using ${dir} (if none is running, remove ${lockPath})`
          })
        )
      ),
      () => fs.remove(lockPath).pipe(Effect.ignore)
    )
    const text = yield* store.get(STATE_KEY).pipe(Effect.mapError(storeError(`cannot read ${dir}/${STATE_KEY}`)))
    const local = Option.isNone(text)
      ? { state: MemoryState.make(), lastSync: undefined }
      : fromDocument(
        yield* decodeDocument(text.value).pipe(
          Effect.mapError((e) => new LocalStoreError({ message: `${dir}/${STATE_KEY} is not a local store: ${e}` }))
        )
      )
    for (const plan of options.usagePlans) local.state.usagePlans.add(plan)
    const before = yield* encodeDocument(toDocument(local)).pipe(Effect.orDie)
    const save = Effect.gen(function*() {
      const after = yield* encodeDocument(toDocument(local)).pipe(Effect.orDie)
      if (Option.isSome(text) && after === before) return
      const tmp = `${STATE_KEY}.tmp`
      yield* store.set(tmp, after)
      yield* fs.rename(path.join(dir, encodeURIComponent(tmp)), path.join(dir, encodeURIComponent(STATE_KEY)))
    }).pipe(Effect.mapError(storeError(`cannot write ${dir}/${STATE_KEY}`)))
    return yield* f(local).pipe(
      Effect.tap(() => options.persist ? save : Effect.void),
      Effect.tapError(() => options.persist ? save : Effect.void)
    )
  }).pipe(Effect.scoped)
