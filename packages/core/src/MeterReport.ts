/**
 * What a usage report's meter event carries besides its value: the identifier Stripe dedupes it on,
 * and the timestamp that puts it in its UTC day and on the right subscription's invoice. Why: see
 * DESIGN.md, "Exactly-once reporting" and "Retiring and orphans".
 *
 * @since 0.3.0
 */
import { Clock, Duration, Effect } from "effect"
import type * as Customer from "./Customer.js"
import { type ApiKeyId, type CustomerId, MeterEventIdentifier } from "./Ids.js"
import { fnv1a64 } from "./internal/hash.js"
import * as UtcDay from "./UtcDay.js"

/**
 * The identifier of the meter event that brings the reported total of a customer's link to an API
 * key for `day` to `total`. The key is part of it: after a customer is linked to another key, that
 * key's totals start again from zero and must not be taken by Stripe for the old key's reports.
 *
 * @since 0.3.0
 * @category constructors
 */
export const identifierFor = (
  customerId: CustomerId,
  apiKeyId: ApiKeyId,
  day: UtcDay.UtcDay,
  total: number
): MeterEventIdentifier => {
  const plain = `ab2:${customerId}:${apiKeyId}:${day}:${total}`
  // Stripe allows 100 characters; ids long enough to break that are replaced by their hash.
  return MeterEventIdentifier.make(
    plain.length <= 100 ? plain : `ab2h:${fnv1a64(`${customerId}:${apiKeyId}`)}:${day}:${total}`
  )
}

/** A meter event timestamp in `day` (epoch seconds): now, or a past day's last second. @since 0.3.0 @category utils */
export const timestampFor = (day: UtcDay.UtcDay, nowMillis: number): number =>
  Math.floor(Math.min(nowMillis, UtcDay.endMillis(day)) / 1000)

// Inside `day`, and before `before` (an invoice's period end) when that still falls inside the day.
const stampWithin = (day: UtcDay.UtcDay, nowMillis: number, before: number | undefined): number => {
  const stamp = timestampFor(day, nowMillis)
  return before !== undefined && stamp >= before && (before - 1) * 1000 >= UtcDay.startMillis(day)
    ? before - 1
    : stamp
}

/**
 * The timestamp (epoch seconds) of a new report of `day`'s units made at `nowMillis`: now, or a past day's
 * last second, and before `stampBefore` (an invoice's period end) where the day allows. While a subscription
 * the record held may be replaced and is not cancelled yet (`replacingSince`), before the second the
 * replacement can have begun: Billing Meters bill an event on every live subscription to the price, so a
 * later stamp would be on the old subscription's final invoice and on the new one. Undefined when the day
 * has no such second: the units wait for the old subscription's cancel, then go on the new one only.
 * Why: see DESIGN.md, "Retiring and orphans".
 *
 * @since 0.3.0
 * @category utils
 */
export const reportStamp = (
  customer: Customer.Customer,
  day: UtcDay.UtcDay,
  nowMillis: number,
  stampBefore?: number
): number | undefined => {
  if (customer.replacingSince === undefined) return stampWithin(day, nowMillis, stampBefore)
  const replacedFrom = Math.floor(customer.replacingSince / 1000)
  const before = stampBefore === undefined ? replacedFrom : Math.min(stampBefore, replacedFrom)
  const stamp = stampWithin(day, nowMillis, before)
  return stamp < before ? stamp : undefined
}

/**
 * Wait for the next whole second of the clock: meter events are stamped in whole seconds, and a
 * subscription's period starts at its creation second, so a cancel or a replacement made after this
 * never shares a second with a stamp sent before it. Assumes Stripe's clock agrees with ours to well
 * under a second (its request latency adds to the margin).
 *
 * @since 0.4.0
 * @category utils
 */
export const nextSecond: Effect.Effect<void> = Effect.flatMap(
  Clock.currentTimeMillis,
  (at) => Effect.sleep(Duration.millis(1000 - (at % 1000)))
)
