import type { Ids } from "@augint-billing/core"
import { Effect } from "effect"
import { CustomerRepoContract, PlanAdminContract, StripeContract, UsageSourceContract } from "../src/contracts/index.js"
import { CustomerRepoMemory, Driver, Memory } from "../src/index.js"

let n = 0
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${n++}`

CustomerRepoContract.suite("in memory", CustomerRepoMemory.layerMemory, { bulk: 2_500 })

PlanAdminContract.suite("in memory", Memory.layerMemory(), {
  plans: Effect.succeed({ free: "FREE_10K" as Ids.UsagePlanId, metered: "METERED" as Ids.UsagePlanId }),
  newKey: Effect.gen(function*() {
    const driver = yield* Driver.Driver
    const key = unique("key") as Ids.ApiKeyId
    yield* driver.createApiKey(key)
    return key
  }),
  enforcesOnePlanPerStage: true,
  unknownPlan: "NO_SUCH_PLAN" as Ids.UsagePlanId
})

UsageSourceContract.suite("in memory", Memory.layerMemory(), {
  planWith: (seeds) =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const plan = unique("plan") as Ids.UsagePlanId
      yield* driver.createUsagePlan(plan)
      for (const s of seeds) {
        yield* driver.addUsage({ apiKeyId: s.apiKeyId, units: s.units, day: s.day, usagePlanId: plan })
      }
      return plan
    })
})

StripeContract.suite("in memory", Memory.layerMemory(), {
  newCustomer: Effect.gen(function*() {
    const driver = yield* Driver.Driver
    const id = unique("cus_m") as Ids.CustomerId
    yield* driver.createStripeCustomer(id, 1)
    return id
  }),
  signWebhook: (payload, timestamp) => Effect.flatMap(Driver.Driver, (d) => d.signWebhook(payload, timestamp)),
  stateful: true
})
