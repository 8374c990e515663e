/**
 * Meter events as Stripe takes them: the checks made before sending (value, identifier, timestamp
 * window), so that a refusal names its reason instead of costing a request.
 */
import { Stripe as Port } from "@augint-billing/core"
import { Duration, Either } from "effect"
import * as Errors from "./errors.js"

/** Check a meter event against Stripe's rules before it is sent; `nowMillis` is the current time. */
export const validate = (
  event: Port.MeterEvent,
  nowMillis: number
): Either.Either<Port.MeterEvent, Port.StripeError> => {
  if (!Number.isSafeInteger(event.value) || event.value < 1) {
    return Either.left(Errors.invalid(`meter event value must be a whole number of at least 1, got ${event.value}`))
  }
  if (event.identifier.length < 1 || event.identifier.length > 100) {
    return Either.left(
      Errors.invalid(`meter event identifier must be 1-100 characters, got ${event.identifier.length}`)
    )
  }
  if (!Number.isSafeInteger(event.timestamp) || event.timestamp < 0) {
    return Either.left(Errors.invalid(`meter event timestamp must be whole epoch seconds, got ${event.timestamp}`))
  }
  const at = event.timestamp * 1000
  const iso = new Date(at).toISOString()
  if (nowMillis - at > Duration.toMillis(Port.MAX_METER_EVENT_AGE)) {
    return Either.left(
      Errors.invalid(`meter event timestamp ${iso} is more than 35 days old; Stripe would reject it`)
    )
  }
  if (at - nowMillis > Duration.toMillis(Port.MAX_METER_EVENT_LEAD)) {
    return Either.left(
      Errors.invalid(`meter event timestamp ${iso} is more than 5 minutes in the future; Stripe would reject it`)
    )
  }
  return Either.right(event)
}
