/**
 * Classifying AWS SDK v3 failures once, for every adapter: the ports name their own reasons, but the
 * question "is this a throttle, the network, the server or us?" has one answer for all AWS services.
 */

/** What an SDK failure means to a caller. */
export type AwsFailure =
  | "Throttled"
  | "Transport"
  | "Server"
  | "ConditionFailed"
  | "NotFound"
  | "Conflict"
  | "BadRequest"

/** A classified failure and a message safe to log (no request bodies, no secrets). */
export interface Classified {
  readonly kind: AwsFailure
  readonly name: string
  readonly message: string
}

const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "LimitExceededException",
  "SlowDown"
])

const TRANSPORT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT"
])

const TRANSPORT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "AbortError"])

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/** The HTTP status an SDK error carries, when it got as far as a response. */
export const httpStatus = (error: unknown): number | undefined => {
  const status = field(field(error, "$metadata"), "httpStatusCode")
  return typeof status === "number" ? status : undefined
}

/** Classify an error thrown by `client.send`. */
export const classify = (error: unknown): Classified => {
  const name = str(field(error, "name")) ?? "Error"
  const message = str(field(error, "message")) ?? String(error)
  const status = httpStatus(error)
  const code = str(field(error, "code")) ?? str(field(field(error, "cause"), "code"))
  const result = (kind: AwsFailure): Classified => ({ kind, name, message: `${name}: ${message}` })

  if (THROTTLE_NAMES.has(name) || status === 429) return result("Throttled")
  if (name === "ConditionalCheckFailedException") return result("ConditionFailed")
  if (name === "NotFoundException" || name === "ResourceNotFoundException") return result("NotFound")
  if (name === "ConflictException") return result("Conflict")
  // A Node system error (it names a syscall) never reached a server: the network failed.
  if (
    (code !== undefined && TRANSPORT_CODES.has(code)) || TRANSPORT_NAMES.has(name) ||
    (status === undefined && field(error, "syscall") !== undefined)
  ) {
    return result("Transport")
  }
  if (
    field(error, "$fault") === "server" || (status !== undefined && status >= 500) ||
    name === "InternalServerError" || name === "ServiceUnavailableException" || name === "ServiceUnavailable"
  ) {
    return result("Server")
  }
  return result("BadRequest")
}
