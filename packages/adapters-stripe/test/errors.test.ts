import { assert, describe, it } from "@effect/vitest"
import StripeSdk from "stripe"
import { fromSdkError, parseRetryAfter } from "../src/internal/errors.js"

// `StripeError.generate` is what the SDK itself calls on an error response, so these are the
// errors the adapter really sees.
const fromResponse = (raw: {
  readonly statusCode: number
  readonly type: StripeSdk.RawErrorType
  readonly code?: string
  readonly message?: string
  readonly headers?: Record<string, string>
}) => fromSdkError(StripeSdk.errors.StripeError.generate({ ...raw }), 0)

describe("error classification", () => {
  it("429 is RateLimited, with Retry-After in milliseconds", () => {
    const error = fromResponse({
      statusCode: 429,
      type: "invalid_request_error",
      code: "rate_limit",
      headers: { "retry-after": "2" }
    })
    assert.strictEqual(error.reason, "RateLimited")
    assert.strictEqual(error.retryAfterMillis, 2000)
    assert.isTrue(error.isTransient)
  })

  it("429 without Retry-After has no retryAfterMillis", () => {
    const error = fromResponse({ statusCode: 429, type: "invalid_request_error" })
    assert.strictEqual(error.reason, "RateLimited")
    assert.isUndefined(error.retryAfterMillis)
  })

  it("400 rate_limit is RateLimited", () => {
    assert.strictEqual(
      fromResponse({ statusCode: 400, type: "invalid_request_error", code: "rate_limit" }).reason,
      "RateLimited"
    )
  })

  it("a connection error is Transport", () => {
    const error = fromSdkError(new StripeSdk.errors.StripeConnectionError({ message: "socket hang up" }))
    assert.strictEqual(error.reason, "Transport")
    assert.isTrue(error.isTransient)
  })

  it("5xx is Server", () => {
    for (const statusCode of [500, 502, 503, 504]) {
      const error = fromResponse({ statusCode, type: "api_error" })
      assert.strictEqual(error.reason, "Server", `HTTP ${statusCode}`)
      assert.isTrue(error.isTransient)
    }
  })

  it("an unreadable response body (StripeAPIError without status) is Server", () => {
    assert.strictEqual(
      fromSdkError(new StripeSdk.errors.StripeAPIError({ message: "Invalid JSON received from the Stripe API" }))
        .reason,
      "Server"
    )
  })

  it("lock_timeout is Locked, whether sent as 409 or 429", () => {
    assert.strictEqual(
      fromResponse({ statusCode: 409, type: "invalid_request_error", code: "lock_timeout" }).reason,
      "Locked"
    )
    assert.strictEqual(
      fromResponse({ statusCode: 429, type: "invalid_request_error", code: "lock_timeout" }).reason,
      "Locked"
    )
    assert.isTrue(fromResponse({ statusCode: 409, type: "invalid_request_error", code: "lock_timeout" }).isTransient)
  })

  it("a 409 for a concurrent request with the same idempotency key is Locked (transient)", () => {
    assert.strictEqual(fromResponse({ statusCode: 409, type: "idempotency_error" }).reason, "Locked")
  })

  it("an idempotency key reused with other parameters is IdempotencyConflict", () => {
    const error = fromResponse({ statusCode: 400, type: "idempotency_error" })
    assert.strictEqual(error.reason, "IdempotencyConflict")
    assert.isFalse(error.isTransient)
  })

  it("401 and 403 are Authentication", () => {
    assert.strictEqual(fromResponse({ statusCode: 401, type: "invalid_request_error" }).reason, "Authentication")
    assert.strictEqual(fromResponse({ statusCode: 403, type: "invalid_request_error" }).reason, "Authentication")
    assert.isFalse(fromResponse({ statusCode: 401, type: "invalid_request_error" }).isTransient)
  })

  it("404 and resource_missing are NotFound", () => {
    assert.strictEqual(fromResponse({ statusCode: 404, type: "invalid_request_error" }).reason, "NotFound")
    assert.strictEqual(
      fromResponse({ statusCode: 400, type: "invalid_request_error", code: "resource_missing" }).reason,
      "NotFound"
    )
  })

  it("other 4xx (400, 402 card errors) are InvalidRequest and not transient", () => {
    for (const [statusCode, type] of [[400, "invalid_request_error"], [402, "card_error"]] as const) {
      const error = fromResponse({ statusCode, type, message: "bad" })
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.isFalse(error.isTransient)
    }
  })

  it("the message carries Stripe's message, status and code", () => {
    const error = fromResponse({
      statusCode: 400,
      type: "invalid_request_error",
      code: "parameter_missing",
      message: "Missing required param: customer."
    })
    assert.include(error.message, "Missing required param: customer.")
    assert.include(error.message, "HTTP 400")
    assert.include(error.message, "parameter_missing")
  })
})

describe("Retry-After", () => {
  it("reads delay-seconds", () => {
    assert.strictEqual(parseRetryAfter("3", 0), 3000)
    assert.strictEqual(parseRetryAfter("0.5", 0), 500)
    assert.strictEqual(parseRetryAfter(" 10 ", 0), 10_000)
  })

  it("reads an HTTP-date relative to now, never negative", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    assert.strictEqual(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000)
    assert.strictEqual(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0)
  })

  it("ignores absent or unreadable values", () => {
    assert.isUndefined(parseRetryAfter(undefined, 0))
    assert.isUndefined(parseRetryAfter("", 0))
    assert.isUndefined(parseRetryAfter("soon", 0))
  })
})

describe("credentials never reach an error", () => {
  it("scrubs keys and Authorization values from messages and drops the cause of auth failures", () => {
    const error = fromResponse({
      statusCode: 401,
      type: "invalid_request_error",
      message: "Invalid API Key provided: sk_live_abc123. Authorization was 'Basic c2tfbGl2ZV8xMjM6'."
    })
    assert.strictEqual(error.reason, "Authentication")
    assert.notInclude(error.message, "sk_live_abc123")
    assert.notInclude(error.message, "c2tfbGl2ZV8xMjM6")
    assert.isUndefined(error.cause)
  })
})
