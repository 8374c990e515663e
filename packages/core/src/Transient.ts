/**
 * Errors that say whether a retry can help: the one interface the port errors implement and `Retry`
 * reads.
 *
 * @since 0.2.0
 */

/**
 * An error that says whether the same call may succeed later, and how long the server asked to wait.
 *
 * @since 0.2.0
 * @category models
 */
export interface Transient {
  readonly isTransient: boolean
  readonly retryAfterMillis?: number | undefined
}

/**
 * The reasons the AWS-backed ports (`CustomerRepo`, `UsageSource`, `PlanAdmin`) treat as transient.
 *
 * @since 0.2.0
 * @category constants
 */
export const awsReasons: ReadonlySet<string> = new Set(["Throttled", "Transport", "Server", "Timeout"])

/**
 * Whether an error says that the same call may succeed later.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isTransient = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "isTransient" in error && error.isTransient === true

/**
 * The wait (milliseconds) a server asked for before the next attempt, when the error carries one.
 *
 * @since 0.2.0
 * @category getters
 */
export const retryAfterMillis = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null && "retryAfterMillis" in error &&
    typeof error.retryAfterMillis === "number"
    ? error.retryAfterMillis
    : undefined
