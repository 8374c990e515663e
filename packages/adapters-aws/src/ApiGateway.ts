/**
 * The API Gateway management client shared by `UsageSource` and `PlanAdmin`: one SDK client (one
 * attempt per call) and one client-side rate limiter sized to the account's management-API budget
 * (about 10 requests/s, bursts of 40), so both adapters of one Layer draw from the same budget. Also
 * `describeUsagePlan`, the read-only check of a plan that operators' tools run.
 *
 * @since 0.1.0
 */
import { APIGatewayClient, GetUsagePlanCommand } from "@aws-sdk/client-api-gateway"
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, RateLimiter, Schema } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import { clientConfig, send } from "./internal/sdk.js"

/**
 * The shared client and rate limiter.
 *
 * @since 0.1.0
 * @category services
 */
export interface ApiGatewayService {
  /** The SDK client; call it only through `limit`. */
  readonly client: APIGatewayClient
  /** Wraps one management-API request so it waits for a token. */
  readonly limit: RateLimiter.RateLimiter
}

/**
 * The API Gateway management client service.
 *
 * @since 0.1.0
 * @category services
 */
export class ApiGateway
  extends Context.Tag("@augint-billing/adapters-aws/ApiGateway")<ApiGateway, ApiGatewayService>()
{}

/**
 * The management-API budget: `burst` requests at once, refilled at `perSecond`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  readonly perSecond: number
  readonly burst: number
}

/**
 * About 10 requests/s per account with bursts of 40 (API Gateway's documented management limits).
 *
 * @since 0.1.0
 * @category models
 */
export const defaultRateLimit: RateLimit = { perSecond: 10, burst: 40 }

/**
 * How to reach API Gateway.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Region, endpoint and credentials of the client. */
  readonly client?: AwsConfig.ClientOptions
  /** The client-side rate limit, default `defaultRateLimit`. */
  readonly rateLimit?: RateLimit
}

/**
 * A token bucket of `burst` tokens refilled at `perSecond`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRateLimiter = (rate: RateLimit) =>
  RateLimiter.make({
    algorithm: "token-bucket",
    limit: rate.burst,
    interval: Duration.millis(Math.round((rate.burst / rate.perSecond) * 1000))
  })

/**
 * The shared client and limiter; the Layer owns the client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ApiGateway> =>
  Layer.scoped(
    ApiGateway,
    Effect.gen(function*() {
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new APIGatewayClient(clientConfig(options.client))),
        (c) => Effect.sync(() => c.destroy())
      )
      const limit = yield* makeRateLimiter(options.rateLimit ?? defaultRateLimit)
      return { client, limit }
    })
  )

/**
 * This process's share of the account's management-API budget, `API_GATEWAY_RATE_LIMIT` as
 * `<per second>/<burst>` (default `defaultRateLimit`, 10/40). The budget is per account and shared by
 * every caller, so functions that run at once split it (the fan-out's workers each get a slice).
 *
 * @since 0.4.0
 * @category config
 */
export const rateLimitConfig: Config.Config<RateLimit> = Config.string("API_GATEWAY_RATE_LIMIT").pipe(
  Config.mapOrFail((text) => {
    const match = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(text.trim())
    const perSecond = match === null ? NaN : Number(match[1])
    const burst = match === null ? NaN : Number(match[2])
    return perSecond > 0 && burst >= 1
      ? Either.right({ perSecond, burst })
      : Either.left(ConfigError.InvalidData([], `must be <per second>/<burst> such as 10/40, got "${text}"`))
  }),
  Config.withDefault(defaultRateLimit)
)

/**
 * The options from the environment: `AWS_REGION`, `AWS_ENDPOINT_URL_API_GATEWAY`,
 * `API_GATEWAY_RATE_LIMIT`.
 *
 * @since 0.1.0
 * @category config
 */
export const optionsConfig: Effect.Effect<Options, AwsConfig.AwsConfigError> = AwsConfig.load(
  Config.map(
    Config.all([AwsConfig.clientOptions("API_GATEWAY"), rateLimitConfig]),
    ([client, rateLimit]) => ({ client, rateLimit })
  )
)

/**
 * The shared client configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<ApiGateway, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(optionsConfig, layer)
)

/**
 * Why a usage plan could not be described. `Throttled`, `Transport` and `Server` are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export const UsagePlanErrorReason = Schema.Literal("NotFound", "Throttled", "Transport", "Server", "BadRequest")

/**
 * A usage plan could not be described: it does not exist (`NotFound`), or the request failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsagePlanError extends Schema.TaggedError<UsagePlanError>()("UsagePlanError", {
  reason: UsagePlanErrorReason,
  usagePlanId: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A usage plan as API Gateway describes it.
 *
 * @since 0.1.0
 * @category models
 */
export interface UsagePlanDescription {
  readonly id: string
  readonly name: string | undefined
  /** The API stages the plan covers, as `apiId/stage`. */
  readonly apiStages: ReadonlyArray<string>
}

/**
 * Describe one usage plan (`GetUsagePlan`, read only, through the shared rate limiter); a missing plan is `NotFound`.
 *
 * @since 0.1.0
 * @category administration
 */
export const describeUsagePlan = (
  usagePlanId: string
): Effect.Effect<UsagePlanDescription, UsagePlanError, ApiGateway> =>
  Effect.flatMap(ApiGateway, (api) =>
    api.limit(send(
      (abortSignal) => api.client.send(new GetUsagePlanCommand({ usagePlanId }), { abortSignal }),
      (failure, cause) =>
        new UsagePlanError({
          reason: failure.kind === "ConditionFailed" || failure.kind === "Conflict" ? "BadRequest" : failure.kind,
          usagePlanId,
          message: failure.kind === "NotFound"
            ? `usage plan ${usagePlanId} does not exist`
            : `API Gateway GetUsagePlan ${failure.message}`,
          cause
        })
    ))).pipe(
      Effect.map((plan): UsagePlanDescription => ({
        id: plan.id ?? usagePlanId,
        name: plan.name,
        apiStages: (plan.apiStages ?? []).map((s) => `${s.apiId ?? ""}/${s.stage ?? ""}`)
      })),
      Effect.withSpan("ApiGateway.describeUsagePlan", { attributes: { usagePlanId } })
    )
