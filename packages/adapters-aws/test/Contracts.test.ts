// The testkit's contract suites against the real adapters: DynamoDB Local for CustomerRepo, moto for
// PlanAdmin, and for UsageSource a local HTTP server modelling GetUsage as AWS documents it and users report it.
import { Ids } from "@augint-billing/core"
import { CustomerRepoContract, PlanAdminContract, UsageSourceContract } from "@augint-billing/testkit/contracts"
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand
} from "@aws-sdk/client-api-gateway"
import { Context, Effect, Layer } from "effect"
import { ApiGatewayPlanAdmin, ApiGatewayUsageSource, DynamoCustomerRepo, DynamoTable } from "../src/index.js"
import { dynamo, moto, resetMoto, unique } from "./support/Servers.js"
import * as UsageServer from "./support/UsageServer.js"

const unlimited = { perSecond: 100_000, burst: 100_000 }

const tableName = unique("contract-")
CustomerRepoContract.suite(
  "DynamoDB Local",
  Layer.unwrapEffect(
    DynamoTable.createTable({ tableName, client: dynamo }).pipe(
      Effect.as(DynamoCustomerRepo.layer({ tableName, client: dynamo, pageSize: 250 })),
      Effect.orDie
    )
  )
)

// moto's API Gateway, driven through the SDK to make plans and keys.
class Moto extends Context.Tag("test/Moto")<Moto, APIGatewayClient>() {}
const motoLayer = Layer.scoped(
  Moto,
  Effect.acquireRelease(
    Effect.sync(() => new APIGatewayClient({ ...moto, maxAttempts: 1 })),
    (c) => Effect.sync(() => c.destroy())
  )
)

PlanAdminContract.suite(
  "API Gateway on moto",
  // it.effect runs on the TestClock, on which a drained token bucket never refills: the suite gets a
  // budget it cannot drain; RateLimit.test.ts checks the real budget on the TestClock.
  Layer.merge(ApiGatewayPlanAdmin.layer({ client: moto, rateLimit: unlimited }), motoLayer),
  {
    plans: Effect.gen(function*() {
      const client = yield* Moto
      yield* resetMoto
      const api = yield* Effect.promise(() => client.send(new CreateRestApiCommand({ name: "billing" })))
      const stage = [{ apiId: api.id!, stage: "prod" }]
      const free = yield* Effect.promise(() =>
        client.send(new CreateUsagePlanCommand({ name: "FREE", apiStages: stage }))
      )
      const metered = yield* Effect.promise(() =>
        client.send(new CreateUsagePlanCommand({ name: "METERED", apiStages: stage }))
      )
      return { free: Ids.UsagePlanId.make(free.id!), metered: Ids.UsagePlanId.make(metered.id!) }
    }),
    newKey: Effect.flatMap(
      Moto,
      (client) =>
        Effect.promise(() => client.send(new CreateApiKeyCommand({ name: unique("k"), enabled: true }))).pipe(
          Effect.map((k) => Ids.ApiKeyId.make(k.id!))
        )
    ),
    // moto itself does not enforce it; the adapter checks the stages before it writes.
    enforcesOnePlanPerStage: true,
    unknownPlan: Ids.UsagePlanId.make("noSuchPlan")
  }
)

// Once per form a day without requests can take in GetUsage's answer (the worst: left out of the list).
for (const idleDay of UsageServer.idleDays) {
  UsageSourceContract.suite(
    `API Gateway GetUsage over a local model server (days without requests: ${idleDay})`,
    Layer.unwrapEffect(
      Effect.map(
        UsageServer.UsageServer,
        (s) => ApiGatewayUsageSource.layer({ client: { ...moto, endpoint: s.endpoint }, rateLimit: unlimited })
      )
    ).pipe(Layer.provideMerge(UsageServer.layerWith(idleDay))),
    { planWith: UsageServer.planWith }
  )
}
