/**
 * The `CustomerRepo` contract: versioned conditional writes, lookups (one and many), sync-candidate listing,
 * pagination and processed-event markers. Run it against every implementation.
 *
 * @since 0.1.0
 */
import { Customer, CustomerRepo, Ids, UtcDay } from "@augint-billing/core"
import { assert, layer as vitestLayer } from "@effect/vitest"
import { Chunk, Effect, Either, type Layer, Option, Stream } from "effect"

/** Options of the suite. */
export interface Options {
  /** Records written for the pagination test (default 1,200: more than one page of any adapter). */
  readonly bulk?: number
  /** Per-test timeout in milliseconds. */
  readonly timeout?: number
}

let counter = 0
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`

/** A fresh record with unique ids. */
export const freshCustomer = (overrides: Partial<Customer.Customer> = {}): Customer.Customer => {
  const id = unique()
  return {
    ...Customer.make({
      customerId: Ids.CustomerId.make(`cus_c${id}`),
      apiKeyId: Ids.ApiKeyId.make(`key${id}`),
      now: 1_700_000_000_000
    }),
    ...overrides
  }
}

const all = <A, E>(stream: Stream.Stream<A, E>) => Stream.runCollect(stream).pipe(Effect.map(Chunk.toReadonlyArray))

/** Register the contract tests for `layer`. */
export const suite = <E>(name: string, layer: Layer.Layer<CustomerRepo.CustomerRepo, E>, options: Options = {}) =>
  vitestLayer(layer, { timeout: options.timeout ?? 120_000 })(`CustomerRepo contract: ${name}`, (it) => {
    const timeout = options.timeout ?? 60_000

    it.effect("get of an unknown customer is None", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        assert.isTrue(Option.isNone(yield* repo.get(freshCustomer().customerId)))
        assert.isTrue(Option.isNone(yield* repo.findByApiKey(freshCustomer().apiKeyId)))
      }), timeout)

    it.effect("create stores version 0 and round-trips every field", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const day = UtcDay.UtcDay.make("2026-03-01")
        const c = freshCustomer()
        const full: Customer.Customer = {
          ...c,
          plan: "METERED",
          subscriptionId: Ids.SubscriptionId.make("sub_contract1"),
          retiring: [Ids.SubscriptionId.make("sub_contract0"), Ids.SubscriptionId.make("sub_contract00")],
          orphans: [Ids.SubscriptionId.make("sub_contract9")],
          closingSince: 1_700_000_200_000,
          generation: 3,
          ledger: { [day]: 42, [UtcDay.add(day, 1)]: 7 },
          stripeOffset: { [day]: -42, [UtcDay.add(day, 1)]: 3 },
          pending: {
            day,
            total: 50,
            value: 8,
            identifier: Ids.MeterEventIdentifier.make(`ab1:${c.customerId}:${day}:50`),
            timestamp: UtcDay.endMillis(day) / 1000 | 0,
            writtenAt: 1_700_000_000_000
          },
          lastEventAt: 1_700_000_100,
          paymentFailedAt: 1_700_000_050,
          settleUntil: 1_700_003_600_000
        }
        const created = yield* repo.create(full)
        assert.strictEqual(created.version, 0)
        const read = yield* repo.get(c.customerId)
        assert.deepStrictEqual(Option.getOrThrow(read), created)
        const byKey = yield* repo.findByApiKey(c.apiKeyId)
        assert.strictEqual(Option.getOrThrow(byKey).customerId, c.customerId)
      }), timeout)

    it.effect("getMany of no ids, or of ids without a record, is an empty map", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        assert.strictEqual((yield* repo.getMany([])).size, 0)
        const unknown = [freshCustomer().customerId, freshCustomer().customerId]
        assert.strictEqual((yield* repo.getMany(unknown)).size, 0)
      }), timeout)

    // DynamoDB's BatchGetItem takes at most 100 keys a request and refuses a request holding a key twice
    // (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html): neither is the caller's concern.
    it.effect(
      "getMany of over 100 ids, some missing and some twice, returns each found record once, as get reads it",
      () =>
        Effect.gen(function*() {
          const repo = yield* CustomerRepo.CustomerRepo
          const created = yield* Effect.forEach(
            Array.from({ length: 230 }, (_, i) => freshCustomer(i % 3 === 0 ? { plan: "METERED" } : {})),
            (c) => repo.create(c),
            { concurrency: 16 }
          )
          const missing = Array.from({ length: 20 }, () => freshCustomer().customerId)
          // A missing id after every 12th record, every 6th record twice in a row: every 100 ids hold some.
          const ids = created.flatMap((c, i) => [
            c.customerId,
            ...(i % 12 === 0 ? [missing[i / 12]!] : []),
            ...(i % 6 === 0 ? [c.customerId] : [])
          ])
          const found = yield* repo.getMany(ids)
          assert.strictEqual(found.size, created.length)
          for (const c of created) assert.deepStrictEqual(found.get(c.customerId), c)
          assert.strictEqual(ids.length, 289)
          for (const id of missing) assert.isFalse(found.has(id))
          const one = created[5]!
          assert.deepStrictEqual(found.get(one.customerId), Option.getOrThrow(yield* repo.get(one.customerId)))
        }),
      Math.max(timeout, 120_000)
    )

    it.effect("getMany reads a write just made, as get does", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = yield* repo.create(freshCustomer())
        const v1 = yield* repo.update({ ...c, plan: "METERED" })
        const found = (yield* repo.getMany([c.customerId])).get(c.customerId)
        assert.deepStrictEqual(found, v1)
        yield* repo.remove(v1)
        assert.isFalse((yield* repo.getMany([c.customerId])).has(c.customerId))
      }), timeout)

    it.effect("create of an existing customer is a VersionConflict", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = freshCustomer()
        yield* repo.create(c)
        const again = yield* Effect.either(repo.create(c))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "VersionConflict")
      }), timeout)

    it.effect("update is conditional on the version and increments it", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = yield* repo.create(freshCustomer())
        const v1 = yield* repo.update({ ...c, plan: "METERED" })
        assert.strictEqual(v1.version, 1)
        const stale = yield* Effect.either(repo.update({ ...c, plan: "FREE" }))
        assert.isTrue(Either.isLeft(stale) && stale.left._tag === "VersionConflict")
        const stored = Option.getOrThrow(yield* repo.get(c.customerId))
        assert.strictEqual(stored.plan, "METERED")
        assert.strictEqual(stored.version, 1)
      }), timeout)

    it.effect("update of a missing record is a VersionConflict, not an insert", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = freshCustomer()
        const result = yield* Effect.either(repo.update(c))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "VersionConflict")
        assert.isTrue(Option.isNone(yield* repo.get(c.customerId)))
      }), timeout)

    it.effect("of two writers racing from one version exactly one wins", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = yield* repo.create(freshCustomer())
        const day = UtcDay.UtcDay.make("2026-03-02")
        const results = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) => Effect.either(repo.update({ ...c, ledger: { [day]: i + 1 } }))),
          { concurrency: "unbounded" }
        )
        const wins = results.filter(Either.isRight)
        assert.strictEqual(wins.length, 1)
        const stored = Option.getOrThrow(yield* repo.get(c.customerId))
        assert.strictEqual(stored.version, 1)
        assert.deepStrictEqual(stored.ledger, wins[0]!.right.ledger)
      }), timeout)

    it.effect("optional fields cleared by an update are gone", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = yield* repo.create(freshCustomer({
          settleUntil: 5,
          paymentFailedAt: 6,
          retiring: [Ids.SubscriptionId.make("sub_contract2")],
          orphans: [Ids.SubscriptionId.make("sub_contract4")],
          stripeOffset: { [UtcDay.UtcDay.make("2026-03-02")]: -5 },
          closingSince: 7
        }))
        const next = yield* repo.update({
          ...c,
          settleUntil: undefined,
          paymentFailedAt: undefined,
          retiring: undefined,
          orphans: undefined,
          stripeOffset: undefined,
          closingSince: undefined
        })
        const stored = Option.getOrThrow(yield* repo.get(c.customerId))
        assert.isUndefined(stored.settleUntil)
        assert.isUndefined(stored.paymentFailedAt)
        assert.isUndefined(stored.retiring)
        assert.isUndefined(stored.orphans)
        assert.isUndefined(stored.stripeOffset)
        assert.isUndefined(stored.closingSince)
        assert.strictEqual(stored.version, next.version)
      }), timeout)

    it.effect("remove is conditional on the version", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const c = yield* repo.create(freshCustomer())
        const v1 = yield* repo.update(c)
        const stale = yield* Effect.either(repo.remove(c))
        assert.isTrue(Either.isLeft(stale) && stale.left._tag === "VersionConflict")
        yield* repo.remove(v1)
        assert.isTrue(Option.isNone(yield* repo.get(c.customerId)))
        assert.isTrue(Option.isNone(yield* repo.findByApiKey(c.apiKeyId)))
      }), timeout)

    it.effect(
      "sync candidates are exactly the metered, pending, settling and retiring records",
      () =>
        Effect.gen(function*() {
          const repo = yield* CustomerRepo.CustomerRepo
          const day = UtcDay.UtcDay.make("2026-03-03")
          const free = yield* repo.create(freshCustomer())
          const metered = yield* repo.create(freshCustomer({ plan: "METERED" }))
          const settling = yield* repo.create(freshCustomer({ settleUntil: 1_700_000_000_000 }))
          const pendingC = freshCustomer()
          const pending = yield* repo.create({
            ...pendingC,
            pending: {
              day,
              total: 3,
              value: 3,
              identifier: Ids.MeterEventIdentifier.make(`ab1:${pendingC.customerId}:${day}:3`),
              timestamp: UtcDay.startMillis(day) / 1000
            }
          })
          const retiring = yield* repo.create(freshCustomer({ retiring: [Ids.SubscriptionId.make("sub_contract3")] }))
          const demoted = yield* repo.create(freshCustomer({ plan: "METERED" }))
          yield* repo.update({ ...demoted, plan: "FREE" })
          const ids = new Set((yield* all(repo.listSyncCandidates())).map((c) => c.customerId))
          assert.isTrue(ids.has(metered.customerId))
          assert.isTrue(ids.has(settling.customerId))
          assert.isTrue(ids.has(pending.customerId))
          assert.isTrue(ids.has(retiring.customerId))
          assert.isFalse(ids.has(free.customerId))
          assert.isFalse(ids.has(demoted.customerId))
          const everyone = new Set((yield* all(repo.list())).map((c) => c.customerId))
          for (const c of [free, metered, settling, pending, retiring, demoted]) {
            assert.isTrue(everyone.has(c.customerId))
          }
        }),
      timeout
    )

    it.effect("listing pages through many records, each exactly once", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const n = options.bulk ?? 1_200
        const created = yield* Effect.forEach(
          Array.from({ length: n }, () => freshCustomer({ plan: "METERED" })),
          (c) => repo.create(c),
          { concurrency: 16 }
        )
        const listed = (yield* all(repo.listSyncCandidates())).map((c) => c.customerId)
        const mine = new Set(created.map((c) => c.customerId))
        const seen = listed.filter((id) => mine.has(id))
        assert.strictEqual(seen.length, n)
        assert.strictEqual(new Set(seen).size, n)
      }), Math.max(timeout, 180_000))

    it.effect("processed-event markers", () =>
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const eventId = Ids.EventId.make(`evt_${unique()}`)
        assert.isFalse(yield* repo.isProcessed(eventId))
        yield* repo.markProcessed({ eventId, expiresAt: 4_000_000_000 })
        yield* repo.markProcessed({ eventId, expiresAt: 4_000_000_000 })
        assert.isTrue(yield* repo.isProcessed(eventId))
      }), timeout)
  })
