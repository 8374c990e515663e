/**
 * The local mode's store: the in-memory ports' state (`MemoryState.State`) and the last sync report,
 * kept as one JSON document in a directory through @effect/platform's file-system `KeyValueStore`.
 * One invocation at a time holds the directory (a lock file naming its holder; a holder killed with -9
 * is detected by pid and start time and its lock taken over), and a save writes a temporary key and
 * renames it over the document, so a crash never leaves half a state behind.
 *
 * @since 0.1.0
 */
import { Customer, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { MemoryState } from "@augint-billing/testkit"
import { FileSystem, KeyValueStore, Path } from "@effect/platform"
import { Cause, Console, Data, Effect, Either, Exit, Option, Schedule, Schema } from "effect"
import * as Lock from "./internal/lock.js"

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

const storeError = (message: string) => (cause: unknown) =>
  new LocalStoreError({ message: `${message}${cause instanceof Error ? `: ${cause.message}` : ""}`, cause })

// The lock is waited for this long (a live holder), then the run fails naming the holder.
const LOCK_WAIT = Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(50)))

const lock = (dir: string, lockPath: string) =>
  Lock.attempt(lockPath).pipe(
    Effect.mapError(storeError(`cannot lock ${dir}`)),
    Effect.flatMap((a) => a._tag === "Taken" ? Effect.void : Effect.fail(a)),
    Effect.retry({ schedule: LOCK_WAIT, while: (e) => e._tag === "Held" }),
    Effect.catchTag("Held", (held) =>
      new LocalStoreError({
        message: `another ai-billing${
          Option.match(held.by, { onNone: () => "", onSome: (h) => ` (pid ${h.pid} on ${h.host})` })
        } is using ${dir}`
      }))
  )

/**
 * Lock `dir`, load its state (fresh state when there is none), run `f` over it, and save it back if it
 * changed and `persist` is set: after a failure or an interruption too, since local Stripe may already
 * have accepted part of the work, as the real one would have. A run that does not persist never
 * creates `dir`: a mistyped path is an error, not a new empty store.
 */
export const run = <A, E, R>(
  dir: string,
  options: RunOptions,
  f: (local: Local) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | LocalStoreError, R | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (!options.persist && !(yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false)))) {
      return yield* new LocalStoreError({
        message:
          `no local store at ${dir} (check --local; a command that writes creates one: ai-billing --local ${dir} table create)`
      })
    }
    const store = yield* KeyValueStore.layerFileSystem(dir).pipe(
      (layer) => Effect.provide(KeyValueStore.KeyValueStore, layer),
      Effect.mapError(storeError(`cannot use ${dir} as the local store`))
    )
    const lockPath = path.join(dir, LOCK_FILE)
    yield* Effect.acquireRelease(lock(dir, lockPath), () => Lock.release(lockPath))
    const tmp = `${STATE_KEY}.tmp`
    const tmpPath = path.join(dir, encodeURIComponent(tmp))
    // Holding the lock, a temporary document can only be left over from a run that was killed.
    if (options.persist) yield* fs.remove(tmpPath).pipe(Effect.ignore)
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
      if (Option.isSome(text) && after === before) return false
      yield* store.set(tmp, after).pipe(
        Effect.zipRight(fs.rename(tmpPath, path.join(dir, encodeURIComponent(STATE_KEY)))),
        Effect.tapError(() => fs.remove(tmpPath).pipe(Effect.ignore))
      )
      return true
    }).pipe(Effect.mapError(storeError(`cannot write ${dir}/${STATE_KEY}`)))
    if (!options.persist) return yield* f(local)
    // The save runs whatever way `f` ended (an interruption included) and is itself never cut short.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(restore(f(local)))
        const saved = yield* Effect.either(save)
        if (Exit.isInterrupted(exit) && Either.isRight(saved)) {
          yield* Console.error(
            `ai-billing: interrupted: ${
              saved.right ? "what ran before the stop is saved in" : "nothing had changed in"
            } ${dir}/${STATE_KEY}`
          )
        }
        if (Either.isLeft(saved)) {
          return yield* Exit.isSuccess(exit)
            ? Effect.fail(saved.left)
            : Effect.failCause(Cause.sequential(exit.cause, Cause.fail(saved.left)))
        }
        return yield* exit
      })
    )
  }).pipe(Effect.scoped)
