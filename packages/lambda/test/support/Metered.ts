// A metered customer with a card and usage today, as the fan-out's tests start from.
import { Ids } from "@augint-billing/core"
import { Driver } from "@augint-billing/testkit"
import { Effect } from "effect"

/** Sign up `customerId` with `apiKeyId` in the METERED plan, with `units` of usage today. */
export const metered = (customerId: Ids.CustomerId, apiKeyId: Ids.ApiKeyId, units: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver.Driver
    const record = yield* driver.signUp({ customerId, apiKeyId, paymentMethods: 1 })
    driver.state.records.set(customerId, { ...record, plan: "METERED" })
    driver.state.membership.set(apiKeyId, new Set([Ids.UsagePlanId.make("METERED")]))
    yield* driver.addUsage({ apiKeyId, units })
  })
