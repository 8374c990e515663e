import { Customer, CustomerRepo, Ids, UtcDay } from "@augint-billing/core"
import { DescribeTimeToLiveCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Option, Stream, TestClock } from "effect"
import { DynamoCustomerRepo, DynamoTable } from "../src/index.js"
import { dynamo, unique } from "./support/Servers.js"

const L = DynamoTable.TableLayout

// A fresh table per suite, created by the adapter's own `createTable`.
const withTable = (tableName: string, pageSize?: number) =>
  Layer.unwrapEffect(
    DynamoTable.createTable({ tableName, client: dynamo }).pipe(
      Effect.as(
        DynamoCustomerRepo.layer({ tableName, client: dynamo, ...(pageSize === undefined ? {} : { pageSize }) })
      ),
      Effect.orDie
    )
  )

const raw = DynamoDBDocumentClient.from(new DynamoDBClient({ ...dynamo, maxAttempts: 1 }))
const rawItem = (tableName: string, pk: string) =>
  Effect.promise(() => raw.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))).pipe(
    Effect.map((out) => out.Item)
  )

const newCustomer = (overrides: Partial<Customer.Customer> = {}): Customer.Customer => ({
  ...Customer.make({
    customerId: Ids.CustomerId.make(unique("cus_")),
    apiKeyId: Ids.ApiKeyId.make(unique("key")),
    now: 1_700_000_000_000
  }),
  ...overrides
})

const repo = CustomerRepo.CustomerRepo

const table = unique("repo-")
describe("DynamoCustomerRepo", () => {
  layer(withTable(table))((it) => {
    it.effect("creates at version 0 and reads back by id and by API key", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = newCustomer({ version: 7, subscriptionId: undefined, pending: undefined })
        const created = yield* r.create(c)
        assert.strictEqual(created.version, 0)
        const stored = Object.fromEntries(Object.entries(created).filter(([, v]) => v !== undefined))
        assert.deepStrictEqual(yield* r.get(c.customerId), Option.some(stored as Customer.Customer))
        assert.deepStrictEqual(yield* r.findByApiKey(c.apiKeyId), Option.some(stored as Customer.Customer))
        assert.isTrue(Option.isNone(yield* r.get(Ids.CustomerId.make(unique("cus_")))))
        assert.isTrue(Option.isNone(yield* r.findByApiKey(Ids.ApiKeyId.make(unique("nokey")))))
        // Undefined optional fields are not stored (no nulls), a FREE record is not indexed.
        const item = yield* rawItem(table, `${L.customerPrefix}${c.customerId}`)
        assert.isDefined(item)
        assert.isFalse("subscriptionId" in item!)
        assert.isFalse("pending" in item!)
        assert.isFalse(L.syncAttribute in item!)
      }))

    it.effect("refuses a second record for a customer, and a key linked to another customer", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = yield* r.create(newCustomer())
        const again = yield* Effect.either(r.create({ ...c, apiKeyId: Ids.ApiKeyId.make(unique("key")) }))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "VersionConflict")
        const other = yield* Effect.either(r.create(newCustomer({ apiKeyId: c.apiKeyId })))
        assert.isTrue(Either.isLeft(other) && other.left._tag === "VersionConflict")
        // The losing creates left nothing behind.
        assert.deepStrictEqual(yield* r.findByApiKey(c.apiKeyId), Option.some(c))
      }))

    it.effect("updates conditionally on the version and returns the next version", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = yield* r.create(newCustomer())
        const day = UtcDay.UtcDay.make("2026-03-01")
        const v1 = yield* r.update({ ...c, plan: "METERED", ledger: { [day]: 5 } })
        assert.strictEqual(v1.version, 1)
        assert.deepStrictEqual(yield* r.get(c.customerId), Option.some(v1))
        const stale = yield* Effect.either(r.update({ ...c, ledger: { [day]: 9 } }))
        assert.isTrue(Either.isLeft(stale) && stale.left._tag === "VersionConflict")
        const missing = yield* Effect.either(r.update(newCustomer()))
        assert.isTrue(Either.isLeft(missing) && missing.left._tag === "VersionConflict")
        assert.deepStrictEqual(yield* r.get(c.customerId), Option.some(v1))
      }))

    it.effect("two writers from the same version: exactly one wins", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = yield* r.create(newCustomer())
        const day = UtcDay.UtcDay.make("2026-03-02")
        for (let round = 0; round < 5; round++) {
          const current = Option.getOrThrow(yield* r.get(c.customerId))
          const results = yield* Effect.all(
            [1, 2, 3, 4].map((n) => Effect.either(r.update({ ...current, ledger: { [day]: round * 10 + n } }))),
            { concurrency: "unbounded" }
          )
          const wins = results.filter(Either.isRight)
          assert.strictEqual(wins.length, 1, `round ${round}`)
          assert.isTrue(results.filter(Either.isLeft).every((e) => e.left._tag === "VersionConflict"))
          assert.deepStrictEqual(yield* r.get(c.customerId), Option.some(wins[0]!.right))
        }
      }))

    it.effect("two creates of the same customer race: exactly one wins", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = newCustomer()
        const results = yield* Effect.all(
          [0, 1, 2].map((i) =>
            Effect.either(r.create(i === 0 ? c : { ...c, apiKeyId: Ids.ApiKeyId.make(unique("key")) }))
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter(Either.isRight).length, 1)
      }))

    it.effect("moving a record to another key moves the key claim", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = yield* r.create(newCustomer())
        const newKey = Ids.ApiKeyId.make(unique("key"))
        const moved = yield* r.update({ ...c, apiKeyId: newKey })
        assert.strictEqual(moved.version, 1)
        assert.isTrue(Option.isNone(yield* r.findByApiKey(c.apiKeyId)))
        assert.deepStrictEqual(yield* r.findByApiKey(newKey), Option.some(moved))
        // The old key is free again; the new one is not.
        const taker = yield* r.create(newCustomer({ apiKeyId: c.apiKeyId }))
        assert.deepStrictEqual(yield* r.findByApiKey(c.apiKeyId), Option.some(taker))
        const clash = yield* Effect.either(r.update({ ...taker, apiKeyId: newKey }))
        assert.isTrue(Either.isLeft(clash) && clash.left._tag === "VersionConflict")
        assert.deepStrictEqual(yield* r.get(taker.customerId), Option.some(taker))
      }))

    it.effect("removes conditionally and frees the key", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const c = yield* r.create(newCustomer())
        const v1 = yield* r.update({ ...c, plan: "METERED" })
        const stale = yield* Effect.either(r.remove(c))
        assert.isTrue(Either.isLeft(stale) && stale.left._tag === "VersionConflict")
        yield* r.remove(v1)
        assert.isTrue(Option.isNone(yield* r.get(c.customerId)))
        assert.isTrue(Option.isNone(yield* r.findByApiKey(c.apiKeyId)))
        assert.isUndefined(yield* rawItem(table, `${L.apiKeyPrefix}${c.apiKeyId}`))
        const again = yield* Effect.either(r.remove(v1))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "VersionConflict")
      }))

    it.effect("indexes exactly the sync candidates, and unindexes a record that stops being one", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const day = UtcDay.UtcDay.make("2026-03-03")
        const free = yield* r.create(newCustomer())
        const metered = yield* r.create(newCustomer()).pipe(Effect.flatMap((c) => r.update({ ...c, plan: "METERED" })))
        const pending = yield* r.create(newCustomer()).pipe(Effect.flatMap((c) =>
          r.update({
            ...c,
            pending: {
              day,
              total: 3,
              value: 3,
              identifier: Ids.MeterEventIdentifier.make(`${c.customerId}-${day}-3`),
              timestamp: 1_772_500_000
            }
          })
        ))
        const settling = yield* r.create(newCustomer()).pipe(
          Effect.flatMap((c) => r.update({ ...c, settleUntil: 1_772_600_000_000 }))
        )
        const ids = (yield* Stream.runCollect(r.listSyncCandidates())).pipe(Chunk.map((c) => c.customerId))
        assert.isTrue(Chunk.contains(ids, metered.customerId))
        assert.isTrue(Chunk.contains(ids, pending.customerId))
        assert.isTrue(Chunk.contains(ids, settling.customerId))
        assert.isFalse(Chunk.contains(ids, free.customerId))
        const listed = yield* Stream.runCollect(r.listSyncCandidates())
        assert.isTrue(Chunk.every(listed, Customer.isSyncCandidate))
        assert.deepStrictEqual(
          Chunk.findFirst(listed, (c) => c.customerId === pending.customerId),
          Option.some(pending)
        )

        const demoted = yield* r.update({ ...metered, plan: "FREE" })
        const after = (yield* Stream.runCollect(r.listSyncCandidates())).pipe(Chunk.map((c) => c.customerId))
        assert.isFalse(Chunk.contains(after, demoted.customerId))
        const item = yield* rawItem(table, `${L.customerPrefix}${demoted.customerId}`)
        assert.isFalse(L.syncAttribute in item!)
      }))

    it.effect("remembers processed events with a TTL attribute in epoch seconds", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const eventId = Ids.EventId.make(unique("evt_"))
        assert.isFalse(yield* r.isProcessed(eventId))
        const expiresAt = Math.floor(Date.now() / 1000) + 7 * 86_400
        yield* r.markProcessed({ eventId, expiresAt })
        assert.isTrue(yield* r.isProcessed(eventId))
        yield* r.markProcessed({ eventId, expiresAt })
        assert.isTrue(yield* r.isProcessed(eventId))
        const item = yield* rawItem(table, `${L.eventPrefix}${eventId}`)
        assert.strictEqual(item?.[L.ttlAttribute], expiresAt)
        // Markers are not customers.
        const all = yield* Stream.runCollect(r.list())
        assert.isTrue(Chunk.every(all, (c) => c.customerId.startsWith("cus_")))

        const ttl = yield* Effect.promise(() => raw.send(new DescribeTimeToLiveCommand({ TableName: table })))
        assert.strictEqual(ttl.TimeToLiveDescription?.AttributeName, L.ttlAttribute)
        assert.strictEqual(ttl.TimeToLiveDescription?.TimeToLiveStatus, "ENABLED")
      }))

    it.effect("a marker past its expiry, not yet deleted by TTL, no longer counts", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const eventId = Ids.EventId.make(unique("evt_"))
        yield* TestClock.setTime(Date.now())
        yield* r.markProcessed({ eventId, expiresAt: Math.floor(Date.now() / 1000) - 10 })
        assert.isFalse(yield* r.isProcessed(eventId))
      }))

    it.effect("a malformed stored record is an Invalid error, not trusted", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const customerId = Ids.CustomerId.make(unique("cus_"))
        yield* Effect.promise(() =>
          raw.send(
            new PutCommand({
              TableName: table,
              Item: { pk: `${L.customerPrefix}${customerId}`, entity: "customer", customerId, plan: "GOLD" }
            })
          )
        )
        const result = yield* Effect.either(r.get(customerId))
        assert.isTrue(
          Either.isLeft(result) && result.left._tag === "CustomerRepoError" && result.left.reason === "Invalid"
        )
      }))

    it.effect("createTable is idempotent", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* DynamoTable.createTable({ tableName: table, client: dynamo }), "AlreadyExists")
      }))
  })

  it.effect("a missing table is a non-transient error", () =>
    Effect.gen(function*() {
      const r = yield* repo
      const result = yield* Effect.either(r.get(Ids.CustomerId.make("cus_x")))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Invalid")
        assert.isFalse(result.left.isTransient)
      }
    }).pipe(Effect.provide(DynamoCustomerRepo.layer({ tableName: unique("missing-"), client: dynamo }))))

  it.effect("an unreachable endpoint is a transient Transport error", () =>
    Effect.gen(function*() {
      const r = yield* repo
      const result = yield* Effect.either(r.get(Ids.CustomerId.make("cus_x")))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Transport")
        assert.isTrue(result.left.isTransient)
      }
    }).pipe(
      Effect.provide(
        DynamoCustomerRepo.layer({ tableName: "t-x", client: { ...dynamo, endpoint: "http://127.0.0.1:9" } })
      )
    ))
})

describe("DynamoCustomerRepo pagination", () => {
  const big = unique("page-")
  // 2,400 transactional creates take about 100 s on DynamoDB Local on a loaded 2-core machine.
  layer(withTable(big, 100), { timeout: 300_000 })((it) => {
    it.effect("streams thousands of records page by page", () =>
      Effect.gen(function*() {
        const r = yield* repo
        const n = 2_400
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) =>
            r.create(newCustomer()).pipe(
              Effect.flatMap((c) => (i % 3 === 0 ? r.update({ ...c, plan: "METERED" }) : Effect.succeed(c)))
            ),
          { concurrency: 16, discard: true }
        )
        const all = yield* Stream.runCollect(r.list())
        assert.strictEqual(all.length, n)
        assert.strictEqual(new Set(Chunk.toReadonlyArray(all).map((c) => c.customerId)).size, n)
        const candidates = yield* Stream.runCollect(r.listSyncCandidates())
        assert.strictEqual(candidates.length, n / 3)
        assert.isTrue(Chunk.every(candidates, (c) => c.plan === "METERED" && c.version === 1))
        // Taking the first page does not read the rest.
        const first = yield* Stream.runCollect(Stream.take(r.listSyncCandidates(), 5))
        assert.strictEqual(first.length, 5)
      }), { timeout: 300_000 })
  })

  it.live("a throttled page is read again: the stream goes on where it was", () =>
    Effect.gen(function*() {
      const tableName = unique("pages-")
      yield* DynamoTable.createTable({ tableName, client: dynamo }).pipe(Effect.orDie)
      // A client that answers the second Query with DynamoDB's throttling error, once.
      const client = DynamoDBDocumentClient.from(new DynamoDBClient({ ...dynamo, maxAttempts: 1 }))
      let queries = 0
      client.middlewareStack.add((next, context) => async (args) => {
        if (context.commandName === "QueryCommand" && ++queries === 2) {
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ProvisionedThroughputExceededException",
            $fault: "client",
            $metadata: { httpStatusCode: 400 }
          })
        }
        return next(args)
      }, { step: "initialize", name: "throttleSecondQuery" })
      const r = DynamoCustomerRepo.make({ client, tableName, pageSize: 10 })
      yield* Effect.forEach(
        Array.from({ length: 25 }, () => newCustomer({ plan: "METERED" })),
        (c) => r.create(c),
        { concurrency: 8, discard: true }
      )
      const candidates = yield* Stream.runCollect(r.listSyncCandidates())
      assert.strictEqual(new Set(Chunk.toReadonlyArray(candidates).map((c) => c.customerId)).size, 25)
      assert.strictEqual(candidates.length, 25)
      assert.strictEqual(queries, 4, "three pages, the throttled one twice")
      client.destroy()
    }), { timeout: 60_000 })
})
