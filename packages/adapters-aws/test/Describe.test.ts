// The read-only checks behind `infra status`: describeTable on DynamoDB Local, describeUsagePlan on moto.
import { APIGatewayClient, CreateUsagePlanCommand } from "@aws-sdk/client-api-gateway"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ApiGateway, DynamoCustomerRepo, DynamoTable } from "../src/index.js"
import { dynamo, moto, resetMoto, unique } from "./support/Servers.js"

const L = DynamoTable.TableLayout

describe("DynamoTable.describeTable", () => {
  it.effect("describes a table made by createTable: ACTIVE, the sparse index, TTL on expiresAt", () =>
    Effect.gen(function*() {
      const tableName = unique("describe-")
      yield* DynamoTable.createTable({ tableName, client: dynamo }).pipe(Effect.orDie)
      const d = yield* DynamoTable.describeTable({ tableName, client: dynamo })
      assert.strictEqual(d.tableName, tableName)
      assert.strictEqual(d.status, "ACTIVE")
      assert.deepStrictEqual(d.keySchema, [{ attributeName: L.partitionKey, keyType: "HASH" }])
      assert.deepStrictEqual(d.indexes, [{
        indexName: L.syncIndex,
        status: "ACTIVE",
        keySchema: [
          { attributeName: L.syncAttribute, keyType: "HASH" },
          { attributeName: L.partitionKey, keyType: "RANGE" }
        ],
        projection: "ALL"
      }])
      assert.deepStrictEqual(d.ttl, { status: "ENABLED", attributeName: L.ttlAttribute })
    }))

  it.effect("a missing table is NotFound, naming the table", () =>
    Effect.gen(function*() {
      const tableName = unique("missing-")
      const error = yield* Effect.flip(DynamoTable.describeTable({ tableName, client: dynamo }))
      assert.strictEqual(error._tag, "DescribeTableError")
      assert.strictEqual(error.reason, "NotFound")
      assert.strictEqual(error.tableName, tableName)
      assert.include(error.message, tableName)
    }))

  it("the names the CLI and the Lambda still import from DynamoCustomerRepo are the DynamoTable ones", () => {
    assert.strictEqual(DynamoCustomerRepo.TableLayout, DynamoTable.TableLayout)
    assert.strictEqual(DynamoCustomerRepo.createTable, DynamoTable.createTable)
    assert.strictEqual(DynamoCustomerRepo.describeTableConfig, DynamoTable.describeTableConfig)
  })

  it.effect("an unreachable endpoint is a Transport failure", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(DynamoTable.describeTable({
        tableName: unique("nowhere-"),
        client: { ...dynamo, endpoint: "http://127.0.0.1:1" }
      }))
      assert.strictEqual(error.reason, "Transport")
    }))
})

describe("ApiGateway.describeUsagePlan", () => {
  const createPlan = (name: string) =>
    Effect.acquireUseRelease(
      Effect.sync(() => new APIGatewayClient({ ...moto, maxAttempts: 1 })),
      (client) => Effect.promise(() => client.send(new CreateUsagePlanCommand({ name }))),
      (client) => Effect.sync(() => client.destroy())
    )

  it.effect("describes an existing plan", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const plan = yield* createPlan("FREE_10K")
      const d = yield* ApiGateway.describeUsagePlan(plan.id!)
      assert.deepStrictEqual(d, { id: plan.id!, name: "FREE_10K", apiStages: [] })
    }).pipe(Effect.provide(ApiGateway.layer({ client: moto }))))

  it.effect("a missing plan is NotFound, naming the plan", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const error = yield* Effect.flip(ApiGateway.describeUsagePlan("nosuchplan"))
      assert.strictEqual(error._tag, "UsagePlanError")
      assert.strictEqual(error.reason, "NotFound")
      assert.strictEqual(error.usagePlanId, "nosuchplan")
      assert.include(error.message, "nosuchplan")
    }).pipe(Effect.provide(ApiGateway.layer({ client: moto }))))
})
