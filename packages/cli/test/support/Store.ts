// Local stores made directly, for tests that need more customers than commands would make quickly.
import { Customer, Ids, UtcDay } from "@augint-billing/core"
import { MemoryState } from "@augint-billing/testkit"
import { Effect, Schema } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as LocalStore from "../../src/LocalStore.js"

/** Write a local store in `dir` holding `count` metered customers, each with `units` unreported today. */
export const meteredStore = (dir: string, count: number, units: number): void => {
  const state = MemoryState.make()
  const metered = Ids.UsagePlanId.make("METERED")
  const today = UtcDay.fromMillis(Date.now())
  const usage = new Map<Ids.ApiKeyId, Map<UtcDay.UtcDay, number>>()
  for (let n = 1; n <= count; n++) {
    const customerId = Ids.CustomerId.make(`cus_m${n}`)
    const apiKeyId = Ids.ApiKeyId.make(`key_m${n}`)
    state.stripeCustomers.set(customerId, { id: customerId, deleted: false, paymentMethods: 1, metadata: {} })
    state.apiKeys.add(apiKeyId)
    state.membership.set(apiKeyId, new Set([metered]))
    usage.set(apiKeyId, new Map([[today, units]]))
    state.records.set(customerId, { ...Customer.make({ customerId, apiKeyId, now: Date.now() }), plan: "METERED" })
  }
  state.usage.set(metered, usage)
  const text = Effect.runSync(
    Schema.encode(Schema.parseJson(LocalStore.Document))(LocalStore.toDocument({ state, lastSync: undefined }))
  )
  writeFileSync(join(dir, LocalStore.STATE_KEY), text)
}
