// DynamoDB's contention failures are transient: a transaction cancelled for `TransactionConflict` and a
// single-item write rejected with `TransactionConflictException` are retried, never read as a lost race
// or a bad request. The failures are injected by SDK middleware on DynamoDB Local, in the shape AWS
// documents them (API_TransactWriteItems.html#API_TransactWriteItems_Errors, API_PutItem.html#API_PutItem_Errors).
import { Customer, CustomerRepo, Ids } from "@augint-billing/core"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { DynamoCustomerRepo, DynamoTable } from "../src/index.js"
import { dynamo, unique } from "./support/Servers.js"

const newCustomer = (): Customer.Customer =>
  Customer.make({
    customerId: Ids.CustomerId.make(unique("cus_")),
    apiKeyId: Ids.ApiKeyId.make(unique("key")),
    now: 1_700_000_000_000
  })

// The SDK's service error: `name`, client fault, HTTP 400, plus the fields the operation's error carries.
const awsError = (name: string, message: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 400 }, ...fields })

const cancelled = (codes: ReadonlyArray<string>, withReasons = true) =>
  awsError(
    "TransactionCanceledException",
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
    withReasons ? { CancellationReasons: codes.map((Code) => ({ Code })) } : {}
  )

const ongoing = () =>
  awsError(
    "TransactionConflictException",
    "Operation was rejected because there is an ongoing transaction for the item."
  )

/** A repository on a fresh table whose client fails the next `command` (the low-level operation) once armed. */
const repoFailingOnce = (command: string, error: () => Error) =>
  Effect.gen(function*() {
    const tableName = unique("transient-")
    yield* DynamoTable.createTable({ tableName, client: dynamo }).pipe(Effect.orDie)
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ ...dynamo, maxAttempts: 1 }), {
      marshallOptions: { removeUndefinedValues: true }
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
    const sent = { count: 0, armed: false }
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === command) {
        sent.count++
        if (sent.armed) {
          sent.armed = false
          throw error()
        }
      }
      return next(args)
    }, { step: "initialize", name: "failOnce" })
    return { repo: DynamoCustomerRepo.make({ client, tableName }), sent }
  })

const retryTransient = <A>(self: Effect.Effect<A, CustomerRepo.CustomerRepoError | CustomerRepo.VersionConflict>) =>
  Effect.retry(self, { times: 2, while: (e) => e._tag === "CustomerRepoError" && e.isTransient })

const transientReason = <A>(result: Either.Either<A, CustomerRepo.CustomerRepoError | CustomerRepo.VersionConflict>) =>
  Either.isLeft(result) && result.left._tag === "CustomerRepoError" && result.left.isTransient
    ? result.left.reason
    : `not transient: ${Either.isLeft(result) ? result.left._tag : "succeeded"}`

describe("DynamoCustomerRepo under transaction contention", () => {
  it.scoped("a create cancelled for TransactionConflict is transient, and the retry creates the record", () =>
    Effect.gen(function*() {
      const { repo, sent } = yield* repoFailingOnce(
        "TransactWriteItemsCommand",
        () => cancelled(["None", "TransactionConflict"])
      )
      const c = newCustomer()
      sent.armed = true
      assert.strictEqual(transientReason(yield* Effect.either(repo.create(c))), "Throttled")
      assert.isTrue(Option.isNone(yield* repo.get(c.customerId)), "nothing was written")
      sent.armed = true
      const created = yield* retryTransient(repo.create(c))
      assert.strictEqual(sent.count, 3, "the failed attempt, then a failed and a successful retry")
      assert.deepStrictEqual(
        Option.map(yield* repo.findByApiKey(c.apiKeyId), (r) => r.version),
        Option.some(created.version)
      )
    }))

  it.scoped("the reasons are read from the message when the SDK gives no CancellationReasons", () =>
    Effect.gen(function*() {
      const { repo, sent } = yield* repoFailingOnce(
        "TransactWriteItemsCommand",
        () => cancelled(["TransactionConflict", "None"], false)
      )
      const c = yield* repo.create(newCustomer())
      sent.armed = true
      assert.strictEqual(transientReason(yield* Effect.either(repo.remove(c))), "Throttled")
      yield* repo.remove(c)
      assert.isTrue(Option.isNone(yield* repo.get(c.customerId)))
    }))

  it.scoped("a failed condition in the same cancellation is still a lost race (VersionConflict)", () =>
    Effect.gen(function*() {
      const { repo, sent } = yield* repoFailingOnce(
        "TransactWriteItemsCommand",
        () => cancelled(["ConditionalCheckFailed", "TransactionConflict"])
      )
      sent.armed = true
      const result = yield* Effect.either(repo.create(newCustomer()))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "VersionConflict")
    }))

  it.scoped("an update that meets an item inside a transaction (TransactionConflictException) is transient", () =>
    Effect.gen(function*() {
      const { repo, sent } = yield* repoFailingOnce("PutItemCommand", ongoing)
      const c = yield* repo.create(newCustomer())
      sent.armed = true
      assert.strictEqual(transientReason(yield* Effect.either(repo.update({ ...c, plan: "METERED" }))), "Throttled")
      sent.armed = true
      const v1 = yield* retryTransient(repo.update({ ...c, plan: "METERED" }))
      assert.strictEqual(v1.version, 1)
      assert.deepStrictEqual(yield* repo.get(c.customerId), Option.some(v1))
    }))

  it.scoped("a processed-event marker written during a transaction on it is retried too", () =>
    Effect.gen(function*() {
      const { repo, sent } = yield* repoFailingOnce("PutItemCommand", ongoing)
      const eventId = Ids.EventId.make(unique("evt_"))
      const expiresAt = Math.floor(Date.now() / 1000) + 3600
      sent.armed = true
      assert.strictEqual(transientReason(yield* Effect.either(repo.markProcessed({ eventId, expiresAt }))), "Throttled")
      yield* repo.markProcessed({ eventId, expiresAt })
      assert.isTrue(yield* repo.isProcessed(eventId))
    }))
})
