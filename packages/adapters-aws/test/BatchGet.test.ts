// `getMany` is BatchGetItem as AWS documents it (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html):
// at most 100 keys a request, strongly consistent only when asked (`ConsistentRead`), and a partial answer
// whose `UnprocessedKeys` the caller must "retry ... on those items" with "an exponential backoff algorithm".
// DynamoDB Local answers every key at once, so a client in front of it leaves keys unprocessed the way
// DynamoDB does under throttling or past 16 MB.
import { Customer, Ids } from "@augint-billing/core"
import { BatchGetCommand, type BatchGetCommandInput } from "@aws-sdk/lib-dynamodb"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { DynamoCustomerRepo, DynamoTable } from "../src/index.js"
import { dynamo, unique } from "./support/Servers.js"

const newCustomer = (): Customer.Customer =>
  Customer.make({
    customerId: Ids.CustomerId.make(unique("cus_")),
    apiKeyId: Ids.ApiKeyId.make(unique("key")),
    now: 1_700_000_000_000
  })

interface Request {
  readonly at: number
  readonly keys: number
  readonly consistent: boolean | undefined
  readonly unprocessed: number
}

/**
 * A repository on a fresh table whose BatchGetItem requests leave `unprocessed(n)` of their keys (the
 * last ones) unprocessed on the n-th request; every request is recorded.
 */
const repoLeaving = (unprocessed: (n: number, keys: number) => number) =>
  Effect.gen(function*() {
    const tableName = unique("batch-")
    yield* DynamoTable.createTable({ tableName, client: dynamo }).pipe(Effect.orDie)
    const real = yield* DynamoCustomerRepo.documentClient(dynamo)
    const requests: Array<Request> = []
    const client = {
      send: async (command: { readonly input: unknown }, options?: { abortSignal?: AbortSignal }) => {
        if (!(command instanceof BatchGetCommand)) return real.send(command as never, options)
        const asked = (command.input as BatchGetCommandInput).RequestItems![tableName]!
        const keys = asked.Keys!
        const left = unprocessed(requests.length + 1, keys.length)
        requests.push({ at: performance.now(), keys: keys.length, consistent: asked.ConsistentRead, unprocessed: left })
        const served = keys.slice(0, keys.length - left)
        const out = served.length === 0
          ? { Responses: { [tableName]: [] } }
          : await real.send(new BatchGetCommand({ RequestItems: { [tableName]: { ...asked, Keys: served } } }), options)
        return left === 0 ? out : { ...out, UnprocessedKeys: { [tableName]: { ...asked, Keys: keys.slice(-left) } } }
      }
    }
    return { repo: DynamoCustomerRepo.make({ client: client as never, tableName }), requests }
  })

describe("DynamoCustomerRepo.getMany (BatchGetItem)", () => {
  it.live(
    "reads 100 keys a request, consistently, and reads unprocessed keys again after an exponential backoff",
    () =>
      Effect.gen(function*() {
        // The first two requests leave half their keys unprocessed.
        const { repo, requests } = yield* repoLeaving((n, keys) => (n <= 2 ? Math.floor(keys / 2) : 0))
        const created = yield* Effect.forEach(Array.from({ length: 150 }, newCustomer), (c) => repo.create(c), {
          concurrency: 16
        })
        const found = yield* repo.getMany(created.map((c) => c.customerId))
        assert.strictEqual(found.size, 150)
        for (const c of created) assert.deepStrictEqual(found.get(c.customerId), c)
        // 100 keys: 50 read, then 25 of the other 50, then the last 25; then the other 50 ids at once.
        assert.deepStrictEqual(requests.map((r) => [r.keys, r.unprocessed]), [[100, 50], [50, 25], [25, 0], [50, 0]])
        assert.isTrue(requests.every((r) => r.consistent === true), "ConsistentRead, as get's GetItem")
        // Core's repository schedule: 50 ms, then 100 ms, each jittered by at most 20 %.
        const waits = [requests[1]!.at - requests[0]!.at, requests[2]!.at - requests[1]!.at]
        assert.isAtLeast(waits[0]!, 40, `first wait ${waits[0]} ms`)
        assert.isAtLeast(waits[1]!, 80, `second wait ${waits[1]} ms`)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live(
    "keys left unprocessed through every retry fail the read as a transient Throttled, not a defect",
    () =>
      Effect.gen(function*() {
        const { repo, requests } = yield* repoLeaving((_, keys) => keys)
        const c = yield* repo.create(newCustomer())
        const result = yield* Effect.either(repo.getMany([c.customerId]))
        assert.isTrue(Either.isLeft(result))
        const error = Either.isLeft(result) ? result.left : undefined
        assert.strictEqual(error?.reason, "Throttled")
        assert.isTrue(error?.isTransient)
        // The first request and core's repository schedule's 5 retries.
        assert.strictEqual(requests.length, 6)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})
