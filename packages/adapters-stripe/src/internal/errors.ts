/**
 * Classification of the stripe SDK's errors into the port's `StripeError` reasons. `Retry.stripe`
 * retries exactly the transient reasons, so this table decides what is retried.
 */
import { Stripe as Port } from "@augint-billing/core"
import StripeSdk from "stripe"

type SdkError = InstanceType<typeof StripeSdk.errors.StripeError>

/** Whether `u` is an error raised by the stripe SDK for a request. */
export const isSdkError = (u: unknown): u is SdkError => u instanceof StripeSdk.errors.StripeError

/** `Retry-After` (delay-seconds or HTTP-date) in milliseconds, when present and readable. */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === "") return undefined
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

const header = (error: SdkError, name: string): string | undefined => {
  const headers = error.headers
  if (headers === undefined) return undefined
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name)
  return found === undefined ? undefined : headers[found]
}

const reasonOf = (error: SdkError): Port.StripeErrorReason => {
  const status = error.statusCode
  // Stripe sends lock_timeout with 409 or 429; either way another request holds the object.
  if (error.code === "lock_timeout") return "Locked"
  if (error instanceof StripeSdk.errors.StripeRateLimitError || status === 429) return "RateLimited"
  if (error instanceof StripeSdk.errors.StripeConnectionError) return "Transport"
  // 409: a concurrent request holds the object or the same idempotency key; retrying is safe.
  if (status === 409) return "Locked"
  if (error instanceof StripeSdk.errors.StripeIdempotencyError || error.rawType === "idempotency_error") {
    return "IdempotencyConflict"
  }
  if (
    error instanceof StripeSdk.errors.StripeAuthenticationError ||
    error instanceof StripeSdk.errors.StripePermissionError || status === 401 || status === 403
  ) return "Authentication"
  if (status === 404 || error.code === "resource_missing") return "NotFound"
  if (status !== undefined && status >= 500) return "Server"
  if (status !== undefined && status >= 400) return "InvalidRequest"
  // No status: an unreadable response body (StripeAPIError) is the server's fault.
  if (error instanceof StripeSdk.errors.StripeAPIError) return "Server"
  return "InvalidRequest"
}

const describe = (error: SdkError): string => {
  const parts = [
    error.statusCode === undefined ? undefined : `HTTP ${error.statusCode}`,
    error.code,
    error.requestId === undefined ? undefined : `request ${error.requestId}`
  ].filter((p): p is string => p !== undefined)
  const message = scrub(error.message === "" ? error.type : error.message)
  return parts.length === 0 ? message : `${message} (${parts.join(", ")})`
}

/**
 * Remove anything that looks like a credential from a server message: Stripe masks keys in its
 * 401 messages, but not every server (stripe-mock echoes the Authorization header).
 */
export const scrub = (message: string): string =>
  message
    .replace(/\b(sk|rk|pk|whsec)_[A-Za-z0-9_]+/g, "$1_[redacted]")
    .replace(/(Authorization was )'[^']*'/gi, "$1'[redacted]'")
    .replace(/\b(Basic|Bearer) [A-Za-z0-9+/=._-]+/g, "$1 [redacted]")

/** Whether Stripe refused the key itself (401), as a rolled or revoked key is; not a 403 (a permission). */
export const isKeyRejected = (error: SdkError): boolean =>
  error instanceof StripeSdk.errors.StripeAuthenticationError || error.statusCode === 401

/** The port error for an SDK error. */
export const fromSdkError = (error: SdkError, nowMillis: number = Date.now()): Port.StripeError => {
  const reason = reasonOf(error)
  const retryAfterMillis = reason === "RateLimited" || reason === "Locked" || reason === "Server"
    ? parseRetryAfter(header(error, "retry-after"), nowMillis)
    : undefined
  return new Port.StripeError({
    reason,
    message: describe(error),
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
    // An authentication failure's raw body may quote the credential: keep it out of logs.
    ...(reason === "Authentication" ? {} : { cause: error })
  })
}

/** A port error raised by the adapter itself, before anything is sent. */
export const invalid = (message: string): Port.StripeError =>
  new Port.StripeError({ reason: "InvalidRequest", message })
