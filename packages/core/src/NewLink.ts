/**
 * The record of a new link between a Stripe customer and an API key, its ledger seeded so that the
 * link bills only what the key uses from now on.
 *
 * @since 0.2.0
 */
import { Clock, Effect } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Customer from "./Customer.js"
import type { ApiKeyId, CustomerId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import { readUsage } from "./UsageRead.js"
import * as UtcDay from "./UtcDay.js"

/**
 * The record of a new link: FREE, its ledger seeded with the key's counts so far and `stripeOffset`
 * with what Stripe already holds, so the link bills only what the key uses from now on; for a key outside
 * the metered plan, a `Link` baseline is due when the key is added to it. Why: see DESIGN.md, "The
 * customer record" and "Counter baselines".
 *
 * @since 0.1.0
 * @category flows
 */
export const newLink = Effect.fn("NewLink.newLink")(function*(
  input: { readonly customerId: CustomerId; readonly apiKeyId: ApiKeyId }
) {
  yield* Effect.annotateCurrentSpan("customerId", input.customerId)
  const config = yield* BillingConfig
  const stripe = yield* Ports.stripe
  const now = yield* Clock.currentTimeMillis
  const days = UtcDay.range(UtcDay.fromMillis(now), config.lookbackDays)
  const observed = yield* readUsage({ usagePlanId: config.meteredPlanId, days, apiKeyId: input.apiKeyId })
  // A key outside the metered plan may have counts there GetUsage does not show now (history dropped)
  // and shows again once the key is back: the baseline is taken then. Why: see DESIGN.md, "Counter
  // baselines".
  const metered = (yield* (yield* Ports.planAdmin).plansOf(input.apiKeyId)).includes(config.meteredPlanId)
  const counts = observed.byKey.get(input.apiKeyId) ?? []
  // What Stripe already holds for the customer on those days (an earlier link, another key).
  const summaries = yield* stripe.meterEventSummaries({
    customerId: input.customerId,
    start: UtcDay.startMillis(days[0]!) / 1000,
    end: (UtcDay.endMillis(days[days.length - 1]!) + 1) / 1000
  })
  const accepted = new Map<UtcDay.UtcDay, number>()
  for (const s of summaries) {
    const day = UtcDay.fromMillis(s.start * 1000)
    accepted.set(day, (accepted.get(day) ?? 0) + s.value)
  }
  let ledger: Customer.Ledger = {}
  const stripeOffset: Record<UtcDay.UtcDay, number> = {}
  days.forEach((day, i) => {
    const seen = counts[i] ?? 0
    if (seen > 0) ledger = Customer.withReported(ledger, day, seen)
    const offset = (accepted.get(day) ?? 0) - seen
    if (offset !== 0) stripeOffset[day] = offset
  })
  return {
    ...Customer.make({ ...input, now }),
    ledger,
    ...(Object.keys(stripeOffset).length === 0 ? {} : { stripeOffset }),
    ...(metered ? {} : { baselineDue: "Link" as const })
  }
})
